"""Point the book's repository settings (launch, download and repository buttons) at a forge's repository.

    python tools/set_repository.py https://github.com/OWNER/NAME [BRANCH]

Rewrites the ``url`` and ``branch`` lines of the ``repository:`` block of ``_config.yml`` in place (the rest of
the file, comments included, is kept). The deploy workflow runs it with the URL of the repository it runs in.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "_config.yml"


def set_repository(text: str, url: str, branch: str | None = None) -> str:
    if not re.fullmatch(r"https://[\w.-]+/[\w.-]+/[\w.-]+", url):
        raise ValueError(f"{url!r} is not a repository URL of the form https://HOST/OWNER/NAME")
    block = re.search(r"^repository:\n((?:[ \t]+.*\n)+)", text, re.M)
    if block is None:
        raise ValueError("_config.yml has no 'repository:' block to update")
    body = re.sub(r"^([ \t]+url:[ \t]*).*$", lambda m: m.group(1) + url, block.group(1), flags=re.M)
    if branch:
        body = re.sub(r"^([ \t]+branch:[ \t]*).*$", lambda m: m.group(1) + branch, body, flags=re.M)
    return text[:block.start(1)] + body + text[block.end(1):]


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    CONFIG.write_text(set_repository(CONFIG.read_text(), sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None))
    print(f"[book] repository {sys.argv[1]}" + (f" (branch {sys.argv[2]})" if len(sys.argv) == 3 else ""))
