"""Seeds derived from several values (a small helper below every layer, without torch: the shard order in
`formats.shards`, per-item seeds in `datasets.seeding`, the mid-epoch reseed in `engine.resume`)."""
from __future__ import annotations

import hashlib


def derive_seed(*parts) -> int:
    """A 63-bit seed hashed from `parts` (joined by ":" as text): neighbouring values give unrelated seeds."""
    digest = hashlib.blake2b(":".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1
