"""The Gateway's words in English and French (Canada), chosen from ``Accept-Language``.

A small catalog rather than gettext files: the English text is the message id, ``FR`` holds its
French. A message missing from ``FR`` shows in English (tests check that none is missing). Labels
that come from the rule files (decline reasons, document titles, profile fields, payment reasons)
are translated when the catalog knows them and shown as written otherwise.
"""
import re

import phonenumbers

HTML_LANG = {"en": "en", "fr": "fr-CA"}
NBSP = "\u00a0"
NNBSP = "\u202f"


def pick(accept_languages):
    """``en`` or ``fr`` from a werkzeug ``LanguageAccept``."""
    best = accept_languages.best_match(["en", "fr-CA", "fr"], default="en")
    return "fr" if best.lower().startswith("fr") else "en"


def gettext(lang, msgid, **values):
    text = FR.get(msgid, msgid) if lang == "fr" else msgid
    return text.format(**values) if values else text


# -- values ----------------------------------------------------------------------------------------

MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juill.", "août", "sept.", "oct.", "nov.", "déc."),
}


def format_datetime(lang, when):
    """``Jan 3, 2026 at 12:00 UTC`` / ``3 janv. 2026 à 12 h 00 UTC``."""
    month = MONTHS[lang][when.month - 1]
    if lang == "fr":
        return f"{when.day} {month} {when.year} à {when.hour} h {when.minute:02d} UTC"
    return f"{month} {when.day}, {when.year} at {when.hour:02d}:{when.minute:02d} UTC"


SYMBOLS = {"USD": "$", "CAD": "$"}


def format_money(lang, amount, currency):
    """``amount`` as formatted by the core (``1,256.25``): ``$1,256.25 USD`` / ``1 256,25 $ USD``."""
    symbol = SYMBOLS.get(currency, "")
    if lang == "fr":
        amount = amount.replace(",", NNBSP).replace(".", ",")
        return f"{amount}{NBSP}{symbol} {currency}" if symbol else f"{amount} {currency}"
    return f"{symbol}{amount} {currency}"


def format_phone(number):
    try:
        parsed = phonenumbers.parse(number, None)
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return number


BRANDS = {"VISA": "Visa", "MASTERCARD": "Mastercard", "AMEX": "American Express", "DISCOVER": "Discover"}
SUBTYPES = {
    "en": {"DEBIT": "debit card", "CREDIT": "credit card", "PREPAID": "prepaid card",
           "CHECKING": "checking account", "SAVING": "savings account"},
    "fr": {"DEBIT": "carte de débit", "CREDIT": "carte de crédit", "PREPAID": "carte prépayée",
           "CHECKING": "compte chèques", "SAVING": "compte d'épargne"},
}
SUBTYPE_TITLES = {
    "en": {"DEBIT": "Debit", "CREDIT": "Credit", "PREPAID": "Prepaid", "CHECKING": "Checking", "SAVING": "Savings"},
    "fr": {"DEBIT": "Débit", "CREDIT": "Crédit", "PREPAID": "Prépayée", "CHECKING": "Chèques", "SAVING": "Épargne"},
}
COUNTRIES = {"en": {"USA": "United States", "CAN": "Canada"}, "fr": {"USA": "États-Unis", "CAN": "Canada"}}


def subtype_words(lang, subtype):
    return SUBTYPES[lang].get(subtype, subtype.lower())


def subtype_title(lang, subtype):
    return SUBTYPE_TITLES[lang].get(subtype, subtype.title())


def country(lang, code):
    return COUNTRIES[lang].get(code, code)


def account_words(lang, brand, subtype, last4):
    """``Visa debit card ending 4242`` / ``carte de débit Visa se terminant par 4242``."""
    kind = subtype_words(lang, subtype)
    brand = BRANDS.get(brand or "", "")
    if lang == "fr":
        return f"{kind} {brand} se terminant par {last4}".replace("  ", " ")
    return f"{brand} {kind} ending {last4}".strip()


# -- the services' problems, by code ---------------------------------------------------------------

PROBLEMS_FR = {
    "REQUIRED": "Ce champ est obligatoire.",
    "INVALID_EMAIL": "Entrez une adresse courriel comme nom@exemple.com.",
    "INVALID_DATE": "Entrez une vraie date de naissance (AAAA-MM-JJ).",
    "NOT_ALLOWED": "Choisissez une des options proposées.",
    "INVALID_POSTAL_CODE": "Entrez un code postal ou ZIP valide.",
    "INVALID_STATE": "Entrez le code de la province ou de l'État en deux lettres.",
    "INVALID_CARD_NUMBER": "Ce numéro de carte n'est pas valide : vérifiez les chiffres.",
    "INVALID_EXPIRY": "Entrez la date d'expiration au format MM/AA.",
    "CARD_EXPIRED": "Cette carte est expirée.",
    "INVALID_ROUTING_NUMBER":
        "Entrez le numéro d'acheminement à 9 chiffres (le chiffre de contrôle ne correspond pas).",
    "INVALID_ACCOUNT_NUMBER": "Entrez les 4 à 17 chiffres du numéro de compte.",
    "ACCOUNT_NOT_PAYABLE": "Ce compte ne peut pas recevoir ce paiement. Essayez-en un autre.",
    "NOT_ACCEPTED": "Acceptez chaque document pour continuer.",
    "INVALID_TEXT": "Retirez les caractères spéciaux.",
    "INVALID_PHONE": "Entrez un numéro de téléphone, par exemple +1 416 555 0123.",
    "NO_CUSTOMER": "Il n'y a pas encore de client pour ce compte.",
    "NO_ACCOUNT": "Aucun compte n'a été choisi pour ce paiement.",
    "ACCOUNT_NOT_ACTIVE": "Ce compte ne peut plus être utilisé.",
}


def problem_text(lang, code, message):
    """A service's problem message in ``lang`` (the service speaks English)."""
    if lang != "fr":
        return message
    if code == "LENGTH":
        found = re.search(r"\d+", message or "")
        return f"Au plus {found.group(0)} caractères." if found else "Ce texte est trop long."
    return PROBLEMS_FR.get(code, message)


# -- the catalog -----------------------------------------------------------------------------------

FR = {
    # pages and errors
    "Skip to the content": "Aller au contenu",
    "A secure page from LinX. Do not share this link: it is for you alone.":
        "Une page sécurisée de LinX. Ne partagez pas ce lien : il est pour vous seul.",
    "Please check the form": "Veuillez vérifier le formulaire",
    "Error:": "Erreur :",
    "Optional": "Facultatif",
    "This page has expired": "Cette page a expiré",
    "For your security, the form could not be sent. Go back, reload the page and try again.":
        "Pour votre sécurité, le formulaire n'a pas pu être envoyé. Revenez en arrière, rechargez la page et "
        "réessayez.",
    "Open the link from your message": "Ouvrez le lien de votre message",
    "This page opens only from the link you received. Open that link again. If this keeps happening, allow "
    "cookies for this site.":
        "Cette page ne s'ouvre qu'à partir du lien que vous avez reçu. Ouvrez ce lien de nouveau. Si le problème "
        "persiste, autorisez les témoins (cookies) pour ce site.",
    "Too many attempts": "Trop de tentatives",
    "There were too many attempts from your connection. Wait a minute, then try again.":
        "Il y a eu trop de tentatives depuis votre connexion. Attendez une minute, puis réessayez.",
    "Something went wrong": "Un problème est survenu",
    "Something went wrong on our side. Try again later.": "Un problème est survenu de notre côté. Réessayez plus tard.",
    "Something went wrong on our side. Try again later. Reference: {trace}":
        "Un problème est survenu de notre côté. Réessayez plus tard. Référence : {trace}",
    "This could not be done": "Cette action n'a pas pu être effectuée",
    "Something is wrong with this request": "Cette demande comporte une erreur",
    "Page not found": "Page introuvable",
    "That was too much to send": "L'envoi était trop volumineux",
    "What you sent is larger than this page accepts. Go back and try again with less.":
        "Ce que vous avez envoyé dépasse ce que cette page accepte. Revenez en arrière et réessayez avec moins.",
    "Check the address, or open the link from your message again.":
        "Vérifiez l'adresse, ou ouvrez de nouveau le lien de votre message.",
    "Go back": "Retour",
    "Almost ready": "Presque prêt",
    "This request is not ready yet. Wait a minute, then reload.":
        "Cette demande n'est pas encore prête. Attendez une minute, puis rechargez la page.",
    "This step cannot be done here": "Cette étape ne peut pas se faire ici",
    "Ask {business} how to go on.": "Demandez à {business} comment continuer.",
    # landing
    "{business} asks you to:": "{business} vous demande de :",
    "Note from {business}:": "Note de {business} :",
    "What will happen": "Ce qui va se passer",
    "done": "fait",
    "This link expires on": "Ce lien expire le",
    "Passcode": "Code d'accès",
    "{business} gave you this passcode.": "{business} vous a donné ce code d'accès.",
    "Continue": "Continuer",
    "Decline": "Refuser",
    "That passcode is not right.": "Ce code d'accès n'est pas le bon.",
    "Enter your passcode.": "Entrez votre code d'accès.",
    "{n} attempts left.": "Il reste {n} tentatives.",
    "1 attempt left.": "Il reste 1 tentative.",
    "Tell us your name and contact details": "Donner votre nom et vos coordonnées",
    "Confirm that it is you": "Confirmer que c'est bien vous",
    "Add a few details to your profile": "Ajouter quelques détails à votre profil",
    "Add your {account}": "Ajouter votre {account}",
    "Add the account to use": "Ajouter le compte à utiliser",
    "Choose the account to use": "Choisir le compte à utiliser",
    "Read and accept {n} documents": "Lire et accepter {n} documents",
    "Read and accept a document": "Lire et accepter un document",
    "Confirm the payment of {money}": "Confirmer le paiement de {money}",
    "Confirm that you will receive {money}": "Confirmer que vous recevrez {money}",
    "Confirm the payment": "Confirmer le paiement",
    # decline
    "Reason": "Raison",
    "Choose a reason": "Choisissez une raison",
    "Choose a reason.": "Choisissez une raison.",
    "Decline this request": "Refuser cette demande",
    "{business} will be told that you said no. Tell it why.":
        "{business} sera avisée de votre refus. Dites-lui pourquoi.",
    "I don't know this business": "Je ne connais pas cette entreprise",
    "I'm not interested": "Cela ne m'intéresse pas",
    "The amount is wrong": "Le montant est erroné",
    "This message was not meant for me": "Ce message ne m'était pas destiné",
    "Another reason": "Une autre raison",
    # steps
    "Step {n} of {total}": "Étape {n} sur {total}",
    "About you": "À propos de vous",
    "{business} needs a few details to create your account.":
        "{business} a besoin de quelques détails pour créer votre compte.",
    "Mobile phone": "Téléphone mobile",
    "First name": "Prénom",
    "Last name": "Nom de famille",
    "Email": "Courriel",
    "Date of birth": "Date de naissance",
    "Street address": "Adresse municipale",
    "City": "Ville",
    "State or province": "Province ou État",
    "ZIP or postal code": "Code postal ou ZIP",
    "Country": "Pays",
    "Choose a country": "Choisissez un pays",
    "For example, 1990-01-31": "Par exemple, 1990-01-31",
    "Two letters, for example NY or ON": "Deux lettres, par exemple ON ou QC",
    "Welcome back, {name}": "Bon retour, {name}",
    "{business} already knows you, so there is nothing to fill in.":
        "{business} vous connaît déjà : vous n'avez rien à remplir.",
    "Not you? Decline this request and say why.": "Ce n'est pas vous? Refusez cette demande et dites pourquoi.",
    "A few more details": "Quelques détails de plus",
    "{name}, {business} asks for a few more details.": "{name}, {business} vous demande quelques détails de plus.",
    "Salutation": "Titre de civilité",
    "Mailing address": "Adresse postale",
    "Physical address": "Adresse de résidence",
    "Shipping address": "Adresse de livraison",
    "Work phone": "Téléphone au travail",
    "Home phone": "Téléphone à la maison",
    "Enter a phone number, for example +1 416 555 0123.": "Entrez un numéro de téléphone, par exemple +1 416 555 0123.",
    "Name on card": "Nom sur la carte",
    "Card number": "Numéro de carte",
    "Expiry (MM/YY)": "Expiration (MM/AA)",
    "For example, 04/29": "Par exemple, 04/29",
    "Card type": "Type de carte",
    "Choose the card type": "Choisissez le type de carte",
    "Name on account": "Nom du titulaire du compte",
    "Routing number": "Numéro d'acheminement",
    "9 digits": "9 chiffres",
    "Account number": "Numéro de compte",
    "Account type": "Type de compte",
    "Choose the account type": "Choisissez le type de compte",
    "Add your card": "Ajouter votre carte",
    "Add your bank account": "Ajouter votre compte bancaire",
    "Use a card instead": "Utiliser plutôt une carte",
    "Use a bank account instead": "Utiliser plutôt un compte bancaire",
    "Your card and account numbers are encrypted and never shown again in full.":
        "Vos numéros de carte et de compte sont chiffrés et ne sont plus jamais affichés en entier.",
    "Your account": "Votre compte",
    "{business} will use this account:": "{business} utilisera ce compte :",
    "Use this account": "Utiliser ce compte",
    "Add a different account": "Ajouter un autre compte",
    "The account on file cannot be used. Add another one.":
        "Le compte au dossier ne peut pas être utilisé. Ajoutez-en un autre.",
    "Documents to accept": "Documents à accepter",
    "Read each document, then tick the box to accept it.":
        "Lisez chaque document, puis cochez la case pour l'accepter.",
    "Version {version}": "Version {version}",
    "version {version}": "version {version}",
    "Read the full text": "Lire le texte complet",
    "I accept {title}": "J'accepte {title}",
    "Back to the documents": "Retour aux documents",
    "Electronic Communications Consent": "Consentement aux communications électroniques",
    "Privacy Policy": "Politique de confidentialité",
    "Terms of Service": "Conditions d'utilisation",
    "ACH Debit Authorization": "Autorisation de prélèvement ACH",
    "Remove the special characters.": "Retirez les caractères spéciaux.",
    "Enter a valid ZIP or postal code.": "Entrez un code postal ou ZIP valide.",
    "At most {n} characters.": "Au plus {n} caractères.",
    # move money
    "You will receive {money} on your {account}": "Vous recevrez {money} sur votre {account}",
    "You will receive {money} in your {account}": "Vous recevrez {money} dans votre {account}",
    "{business} will collect {money} from your {account}": "{business} prélèvera {money} de votre {account}",
    "account": "compte",
    "Expected arrival: {when}.": "Arrivée prévue : {when}.",
    "Expected withdrawal: {when}.": "Prélèvement prévu : {when}.",
    "within minutes": "d'ici quelques minutes",
    "the same business day": "le jour ouvrable même",
    "the next business day": "le jour ouvrable suivant",
    "in a few business days": "d'ici quelques jours ouvrables",
    "Description": "Description",
    "Memo": "Note",
    "Confirm": "Confirmer",
    "Payment of rebates": "Versement de remises",
    "Healthcare disbursements": "Versements de soins de santé",
    "Insurance claim payments": "Règlements de réclamations d'assurance",
    "Refunds": "Remboursements",
    "Wages and salaries": "Salaires",
    "Payments to vendors and suppliers": "Paiements aux fournisseurs",
    "Loan disbursements": "Versements de prêts",
    "Bill payments": "Paiements de factures",
    "Other": "Autre",
    # done and dead ends
    "All done": "C'est terminé",
    "Thank you": "Merci",
    "Thank you, {name}.": "Merci, {name}.",
    "Payment status": "État du paiement",
    "Processing": "En traitement",
    "Funds sent": "Fonds envoyés",
    "Funds received": "Fonds reçus",
    "The payment did not go through": "Le paiement n'a pas abouti",
    "The payment was cancelled": "Le paiement a été annulé",
    "The payment was reversed": "Le paiement a été contrepassé",
    "Reload to see the latest status": "Rechargez pour voir l'état le plus récent",
    "{business} has everything it needed. You can close this page.":
        "{business} a tout ce qu'il lui fallait. Vous pouvez fermer cette page.",
    "Account: {account}": "Compte : {account}",
    "Documents you accepted": "Documents que vous avez acceptés",
    "This link is locked": "Ce lien est verrouillé",
    "There were too many wrong passcodes. Ask {business} to send you the link again.":
        "Il y a eu trop de codes d'accès erronés. Demandez à {business} de vous renvoyer le lien.",
    "There were too many wrong passcodes.": "Il y a eu trop de codes d'accès erronés.",
    "This request was cancelled": "Cette demande a été annulée",
    "{business} cancelled this request. There is nothing more to do.":
        "{business} a annulé cette demande. Vous n'avez plus rien à faire.",
    "You declined this request": "Vous avez refusé cette demande",
    "{business} has been told. There is nothing more to do.":
        "{business} en a été avisée. Vous n'avez plus rien à faire.",
    "This link has expired": "Ce lien a expiré",
    "Ask {business} for a new link.": "Demandez un nouveau lien à {business}.",
    "Ask the business that sent it for a new link.": "Demandez un nouveau lien à l'entreprise qui vous l'a envoyé.",
}
