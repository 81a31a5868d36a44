"""Loading the configured rules together with the uploaded ones.

pySigma reads files, so uploaded rules (kept in the store as YAML text) are written to
a folder first, one file each; `load_rules` then loads them after the configured rules,
exactly as if an admin had put the files there.
"""

import hashlib
import logging
import re
from collections.abc import Sequence
from pathlib import Path

from canhgac.config import Settings
from canhgac.correlator import RuleLoadError, RuleSet, load_rules
from canhgac.tuning._settings import UploadedRule, UploadedRules

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def uploaded_file_name(key: str) -> str:
    """A file name for an uploaded rule: readable, and distinct for distinct keys."""
    digest = hashlib.blake2b(key.encode(), digest_size=4).hexdigest()
    return f"{_UNSAFE.sub('_', key)[:80]}-{digest}.yml"


def write_uploaded(folder: Path, files: Sequence[UploadedRule]) -> None:
    """Make `folder` hold exactly these uploaded rules, one YAML file each."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {uploaded_file_name(file.key): file.yaml for file in files}
    for stale in folder.glob("*.yml"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def load_with_uploaded(
    settings: Settings, uploaded: UploadedRules, folder: Path, *, log_errors: bool = True
) -> RuleSet:
    """The configured rules, then the uploaded ones (written to `folder` first); with
    `log_errors`, every rule skipped is logged with its reason."""
    write_uploaded(folder, list(uploaded.files.values()))
    ruleset = load_rules(
        [*(Path(p) for p in settings.rules.paths), folder],
        bundled=settings.rules.bundled,
        placeholders=settings.rules.placeholders,
    )
    for error in ruleset.errors if log_errors else ():
        log.warning("rule skipped: %s", error)
    return ruleset


def upload_errors(
    settings: Settings, uploaded: UploadedRules, candidate: UploadedRule, folder: Path
) -> tuple[RuleSet, list[RuleLoadError]]:
    """Load the rules as they would be with `candidate` uploaded (it replaces an uploaded
    file with one of its ids) and return them with the candidate's own load errors."""
    ruleset = load_with_uploaded(settings, uploaded.with_file(candidate), folder, log_errors=False)
    mine = (folder / uploaded_file_name(candidate.key)).resolve()
    return ruleset, [e for e in ruleset.errors if e.path and Path(e.path).resolve() == mine]
