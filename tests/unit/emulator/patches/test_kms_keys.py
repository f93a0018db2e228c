"""A KMS key's private key is generated on first use: creating keys no longer costs an
RSA key generation each, and an asymmetric key still signs, verifies and gives its public
key (AWS KMS API Reference, "CreateKey", "Sign", "Verify" and "GetPublicKey")."""

from __future__ import annotations

from tests.unit.emulator.helpers import REGION


def _held(account_id: str, key_id: str):
    from moto.kms.models import kms_backends

    return kms_backends[account_id][REGION].keys[key_id]


def test_moto_still_generates_an_rsa_key_for_a_symmetric_key(vanilla):
    from moto.kms.utils import RSAPrivateKey

    from emulator.patches import kms_keys

    assert kms_keys.REASON
    key_id = vanilla.client("kms").create_key()["KeyMetadata"]["KeyId"]
    assert isinstance(_held(vanilla.id, key_id).private_key, RSAPrivateKey)


def test_a_symmetric_key_is_created_without_a_private_key_and_still_encrypts(patched):
    from emulator.patches import kms_keys

    kms = patched.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    held = _held(patched.id, key_id).private_key
    assert isinstance(held, kms_keys.GeneratedOnFirstUse)
    assert held._generated is None
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"payload")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"payload"
    assert held._generated is None


def test_an_asymmetric_key_signs_verifies_and_gives_its_public_key(patched):
    from moto.kms.utils import RSAPrivateKey

    kms = patched.client("kms")
    key_id = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    signed = kms.sign(KeyId=key_id, Message=b"message", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
    verified = kms.verify(KeyId=key_id, Message=b"message", Signature=signed, SigningAlgorithm="RSASSA_PSS_SHA_256")
    assert verified["SignatureValid"] is True
    public = kms.get_public_key(KeyId=key_id)
    assert len(public["PublicKey"]) > 256  # a DER SubjectPublicKeyInfo of a 2048-bit key
    assert isinstance(_held(patched.id, key_id).private_key._generated, RSAPrivateKey)
