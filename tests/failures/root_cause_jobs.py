"""Jobs that fail in recognisable ways, for the root-cause tests (loaded by name by workers)."""

from __future__ import annotations

from jobmodule import Job

fixed: set[str] = set()
"""Tokens whose cause has been fixed: their jobs succeed from then on (in-process workers)."""
runs: dict[str, int] = {}


def parse_row(row: int) -> None:
    """The application's own code, where the bad-row failures happen."""
    raise ValueError(f"bad row {row}")


class ImportsRow(Job):
    """Fails with ``ValueError("bad row N")`` until its token is fixed."""

    token: str
    row: int

    async def handle(self) -> int:
        runs[self.token] = runs.get(self.token, 0) + 1
        if self.token not in fixed:
            parse_row(self.row)
        return self.row


class LooksUpKey(Job):
    """Fails with ``KeyError('missing')``."""

    token: str

    async def handle(self) -> None:
        record: dict[str, str] = {}
        record["missing"]  # noqa: B018 - the failure is the point
