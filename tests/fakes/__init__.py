"""Fakes of the providers LinX talks to, served on loopback so the real clients are used."""
