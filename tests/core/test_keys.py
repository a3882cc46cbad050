"""Key fingerprints: same key, same fingerprint; different keys, different ones; never the key."""

from nrmc.core import keys


def test_two_sites_with_the_same_pseudonym_key_show_the_same_fingerprint():
    key = "q7Vf-2LmZpX9rT4kWb8NcY3hJd6sGa1eUo5iRx0Ht"
    assert keys.fingerprint(key) == keys.fingerprint(str(key))
    assert len(keys.fingerprint(key)) == 12 and int(keys.fingerprint(key), 16) >= 0


def test_different_keys_show_different_fingerprints_that_do_not_contain_the_key():
    a, b = "q7Vf-2LmZpX9rT4kWb8NcY3hJd6sGa1eUo5iRx0Ht", "q7Vf-2LmZpX9rT4kWb8NcY3hJd6sGa1eUo5iRx0Hu"
    assert keys.fingerprint(a) != keys.fingerprint(b)
    assert keys.fingerprint(a) not in a
    # Not a plain hash of the key either: a published fingerprint cannot be checked against
    # a guessed key without the HMAC label step.
    import hashlib

    assert keys.fingerprint(a) != hashlib.sha256(a.encode()).hexdigest()[:12]
