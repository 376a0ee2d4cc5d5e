"""Symmetric encryption of secrets at rest (OAuth tokens, webhook secrets).

The key is derived from FIELD_ENCRYPTION_KEY, or SECRET_KEY when that is not set.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    material = getattr(settings, "FIELD_ENCRYPTION_KEY", None) or settings.SECRET_KEY
    key = base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest())
    return Fernet(key)


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("The stored secret cannot be decrypted with the current key.") from exc
