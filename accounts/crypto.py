"""Symmetric encryption of secrets at rest (OAuth tokens, webhook secrets).

FIELD_ENCRYPTION_KEY is a list, newest first: new values are encrypted with the first
key, and any key of the list decrypts, so a new key can be rolled out before
`manage.py rotate_encryption_key` re-encrypts the stored values under it. A key is a
Fernet key (`Fernet.generate_key()`) or any passphrase, which is stretched by SHA-256.

Values written before FIELD_ENCRYPTION_KEY was set were encrypted with a key derived
from SECRET_KEY; SECRET_KEY and SECRET_KEY_FALLBACKS still decrypt them (never encrypt,
once FIELD_ENCRYPTION_KEY is set), until the rotation has moved them to a field key.
After that, rotating SECRET_KEY touches no stored secret.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class UnreadableSecret(ValueError):
    """No configured key decrypts a stored value."""


def _fernet_key(material: str) -> bytes:
    """A Fernet key as given, or one derived from a passphrase."""
    try:
        if len(base64.urlsafe_b64decode(material.encode())) == 32:
            return material.encode()
    except (binascii.Error, ValueError):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest())


def key_materials() -> tuple[str, ...]:
    """Every key that may decrypt, the one that encrypts first."""
    field_keys = list(getattr(settings, "FIELD_ENCRYPTION_KEY", None) or [])
    derived = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return tuple(dict.fromkeys([*field_keys, *derived]))


def key_is_derived() -> bool:
    """Are new values encrypted with a key derived from SECRET_KEY (none configured)?"""
    return not getattr(settings, "FIELD_ENCRYPTION_KEY", None)


@functools.lru_cache(maxsize=8)
def _multi_fernet(materials: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(material)) for material in materials])


def _keys() -> MultiFernet:
    return _multi_fernet(key_materials())


def encrypt(plaintext: str) -> str:
    return _keys().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _keys().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise UnreadableSecret("No configured key decrypts the stored secret.") from exc


def reencrypt(ciphertext: str) -> str:
    """The same secret, encrypted with the newest key."""
    try:
        return _keys().rotate(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise UnreadableSecret("No configured key decrypts the stored secret.") from exc


def is_current(ciphertext: str) -> bool:
    """Is the value encrypted with the newest key already?"""
    try:
        Fernet(_fernet_key(key_materials()[0])).decrypt(ciphertext.encode())
    except InvalidToken:
        return False
    return True
