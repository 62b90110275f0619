"""The built-in step kinds, one module each, written as a third-party step plugin would be.

:mod:`.forms` holds the form pieces several of them share (the profile fields, the account form); it is
a helper of this package, not a plugin.
"""
