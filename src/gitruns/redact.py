"""What must never leave the machine: secrets, and the paths and names of the machine itself.

A run's record, diff and command go into git history, which is permanent,
and onto a public site. Before anything is stored, this module:

- leaves out whole files whose *name* says they hold secrets (``.env``,
  ``id_rsa``, ``credentials.json`` ...: :data:`SECRET_FILE_PATTERNS`);
- scans text with detect-secrets (plus the keyword and command-line rules
  below, which catch ``--api-key=...`` and ``TOKEN = ...`` forms detect-secrets
  leaves to context) and replaces each secret with :data:`REDACTED`, adding a
  visible note of what was removed;
- drops credentials from remote URLs (user info, query strings);
- replaces home folders with ``~`` in text that is published.
"""

from __future__ import annotations

import fnmatch
import functools
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

logger = logging.getLogger(__name__)

REDACTED = "[REDACTED]"
NOTE_PREFIX = "# gitruns:"

# Files never captured, matched against the file's name (lower-cased).
SECRET_FILE_PATTERNS = (
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    ".netrc",
    "_netrc",
    ".pgpass",
    ".pypirc",
    ".npmrc",
    ".git-credentials",
    ".htpasswd",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    "*.ovpn",
    "credentials",
    "credentials.*",
    "*credentials*.json",
    "*credentials*.yaml",
    "*credentials*.yml",
    "secret",
    "secrets",
    "secret.*",
    "secrets.*",
    "*.secret",
    "*.secrets",
    "service-account*.json",
    "*-sa.json",
    "kubeconfig",
    ".dockercfg",
    "config.json.bak",
)
# Folders whose files are never captured (the path's parts, lower-cased).
SECRET_FOLDERS = frozenset({".ssh", ".aws", ".gnupg", ".kube", ".docker", ".azure", "gcloud"})

_SECRET_WORD = (
    r"(?:secret|token|passw(?:or)?d|passphrase|pwd|api[_-]?key|apikey|access[_-]?key"
    r"|private[_-]?key|credential|auth)"
)
# ``--api-key=VALUE`` / ``--token VALUE`` on a command line.
COMMAND_OPTION = re.compile(
    rf"^(?P<flag>--?[\w.-]*{_SECRET_WORD}[\w.-]*)(?:=(?P<value>.*))?\Z", re.I
)
# ``API_TOKEN = "VALUE"`` or ``password: VALUE`` in code and config: a literal, not a call.
KEYWORD_ASSIGNMENT = re.compile(
    rf"(?P<key>[\w.-]*{_SECRET_WORD}[\w.-]*)['\"]?\s*(?::=|=|:)\s*"
    r"(?:(?P<quote>['\"])(?P<quoted>[^'\"\s]{6,})(?P=quote)|(?P<bare>[A-Za-z0-9_\-/+=.~]{8,})(?![\w(.\[]))",
    re.I,
)
PRIVATE_KEY_BEGIN = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY( BLOCK)?-----")
PRIVATE_KEY_END = re.compile(r"-----END [A-Z ]*PRIVATE KEY( BLOCK)?-----")
# Home folders, as they appear in paths on Linux, macOS and Windows.
HOME_PATH = re.compile(
    r"(?<![\w.~-])(?:/home/[^/\s'\"\\]+|/Users/[^/\s'\"\\]+|/root(?=[/\s'\"]|\Z)|"
    r"[A-Za-z]:\\\\?Users\\\\?[^\\\s'\"]+)"
)


def is_secret_file(path: str) -> bool:
    """Whether a file's name or folder says it holds secrets (never captured)."""
    parts = path.lower().replace("\\", "/").split("/")
    if any(part in SECRET_FOLDERS for part in parts[:-1]):
        return True
    return any(fnmatch.fnmatchcase(parts[-1], pattern) for pattern in SECRET_FILE_PATTERNS)


@dataclass
class Redaction:
    """Text with its secrets replaced, and what was removed (kinds and counts)."""

    text: str
    removed: Counter[str] = field(default_factory=Counter)

    @property
    def note(self) -> str:
        """One visible line saying what was removed, or empty."""
        if not self.removed:
            return ""
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(self.removed.items()))
        return (
            f"{NOTE_PREFIX} redacted {sum(self.removed.values())} secret(s) before recording "
            f"({kinds}); each is shown as {REDACTED}\n"
        )


@functools.lru_cache(maxsize=1)
def _detect_secrets() -> tuple[object, object] | None:
    try:
        from detect_secrets.core.scan import _process_line_based_plugins
        from detect_secrets.settings import default_settings
    except ImportError:  # pragma: no cover - a dependency; the keyword rules still apply
        logger.warning("detect-secrets is not installed: only gitruns' own secret rules apply")
        return None
    return _process_line_based_plugins, default_settings


def _scanner_findings(lines: list[tuple[int, str]], filename: str) -> list[tuple[int, str, str]]:
    """(line number, kind, secret) for what detect-secrets finds in ``lines``."""
    tools = _detect_secrets()
    if tools is None or not lines:
        return []
    process, settings = tools
    found = []
    with settings():  # type: ignore[operator]
        for secret in process(lines=lines, filename=filename):  # type: ignore[operator]
            if secret.secret_value:
                found.append((secret.line_number, secret.type, secret.secret_value))
    return found


def _covering_word(line: str, secret: str) -> str:
    """The whole token around ``secret`` (a scanner may report only a token's prefix)."""
    match = re.search(
        r"[^\s'\"=:,;()\[\]{}<>`]*" + re.escape(secret) + r"[^\s'\"=:,;()\[\]{}<>`]*", line
    )
    return match.group() if match else secret


def redact_lines(text: str, filename: str = "code.diff") -> Redaction:
    """Replace every secret found in ``text``, line by line.

    >>> redact_lines('token = "ghp_' + 'a' * 36 + '"\\n').text
    'token = "[REDACTED]"\\n'
    """
    lines = text.split("\n")
    result = Redaction(text)
    scanned = [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
    by_line: dict[int, list[tuple[str, str]]] = {}
    for number, kind, secret in _scanner_findings(scanned, filename):
        by_line.setdefault(number - 1, []).append((kind, secret))
    inside_key = False
    for index, line in enumerate(lines):
        if inside_key or PRIVATE_KEY_BEGIN.search(line):
            inside_key = not PRIVATE_KEY_END.search(line)
            lines[index] = line[:1] + REDACTED if line[:1] in "+- " else REDACTED
            result.removed["private key line"] += 1
            continue
        new = line
        for kind, secret in by_line.get(index, []):
            if secret not in new:
                continue  # one secret found by two detectors is removed once
            word = _covering_word(new, secret)
            if word and REDACTED not in word:
                new = new.replace(word, REDACTED)
                result.removed[kind] += 1
        new, count = KEYWORD_ASSIGNMENT.subn(_redact_assignment, new)
        if count and new != line and not by_line.get(index):
            result.removed["Secret Keyword"] += count
        lines[index] = new
    result.text = "\n".join(lines)
    return result


def secret_in_text(text: str, filename: str) -> str | None:
    """The kind of the first secret found in ``text`` (None when it holds none): for a
    file that is left out whole rather than redacted, such as an imported artifact."""
    removed = redact_lines(text, filename).removed
    return ", ".join(sorted(removed)) if removed else None


def _redact_assignment(match: re.Match[str]) -> str:
    value = match["quoted"] or match["bare"]
    if value == REDACTED or REDACTED in value:
        return match.group()
    start = (match.start("quoted") if match["quoted"] else match.start("bare")) - match.start()
    whole = match.group()
    return whole[:start] + REDACTED + whole[start + len(value) :]


def redact_command(argv: list[str]) -> tuple[list[str], int]:
    """A command line with secret option values and secret-looking words replaced;
    returns it and how many were replaced.

    >>> redact_command(["train.py", "--api-key=abc123", "--token", "xyz", "--lr", "0.1"])
    (['train.py', '--api-key=[REDACTED]', '--token', '[REDACTED]', '--lr', '0.1'], 2)
    """
    redacted: list[str] = []
    count = 0
    hide_next = False
    for argument in argv:
        if hide_next:
            redacted.append(REDACTED)
            count += 1
            hide_next = False
            continue
        option = COMMAND_OPTION.match(argument)
        if option:
            if option["value"] is None:
                hide_next = True
                redacted.append(argument)
            else:
                redacted.append(f"{option['flag']}={REDACTED}")
                count += 1
            continue
        cleaned = strip_credentials(argument) if "://" in argument else argument
        scan = redact_lines(cleaned, filename="command.sh")
        count += sum(scan.removed.values()) + (cleaned != argument)
        redacted.append(scan.text)
    return redacted, count


def strip_credentials(url: str) -> str:
    """A remote URL without user info (tokens hide there) or query and fragment.

    The user ``git`` of an SSH remote is a convention, not a secret, and stays.

    >>> strip_credentials("https://user:ghp_secret@github.com/org/repo.git")
    'https://github.com/org/repo.git'
    >>> strip_credentials("ftps://TOKEN@host/repo?access_token=x")
    'ftps://host/repo'
    """
    if "://" not in url:
        return url  # scp-like 'git@host:path': the user is not a secret
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    userinfo = parts.netloc.rpartition("@")[0]
    keep_user = userinfo == "git" and parts.scheme in ("ssh", "git+ssh")
    netloc = f"git@{host}" if keep_user else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def public_text(text: str) -> str:
    """Text fit for a public page: home folders replaced by ``~``.

    >>> public_text("FileNotFoundError: /home/ana/data/jan.parquet")
    'FileNotFoundError: ~/data/jan.parquet'
    """
    if "/" not in text and "\\" not in text:
        return text
    home = os.path.expanduser("~").rstrip("/\\")
    if len(home) > 1 and home in text:  # a home folder outside /home, /Users and /root
        text = re.sub(re.escape(home) + r"(?=[/\\\s'\"]|\Z)", "~", text)
    return HOME_PATH.sub("~", text)
