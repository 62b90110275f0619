// Starts Swagger UI on /v2/docs (a file, not an inline script: the page's Content-Security-Policy allows none).
// "Authorize" takes a business API key (Bearer); "Try it out" sends requests to this same server.
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,          // no call to an outside validator
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
