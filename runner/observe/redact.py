"""Secret redaction for every output runner writes: logs, journal, results, errors, transcripts.

A ``Redactor`` knows the run's secret values (credentials resolved from the pool's references,
the registry auth token) and replaces each with ``***`` wherever it shows up:

- as is, and each line of a multi-line secret on its own;
- JSON-escaped (``\\n``, ``\\"``, ``\\\\``, ``\\u00xx``, also escaped twice), with PTY ``\\r\\n``;
- URL-encoded (``%xx``, ``+`` for a space);
- base64 (standard and URL-safe, at any alignment inside a longer base64 text).

It also hides anything shaped like an API key (``sk-ant-…``, ``AIza…``, ``ghp_…``, ``AKIA…``,
``Bearer …``, ``Authorization:`` headers, ``api_key=…``) even when runner was never told it.
Cheap per string: one regex pass for the key shapes, and a substring test per secret before
its own regex runs (a secret's longest alphanumeric run survives every escaping but base64).
A short string is redacted once: the journal writes the same field names and values (``step``,
``agent``, ``ok``) in every event, and a result repeats them per item.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.spec.models import Pool

MASK = "***"
MIN_SECRET = 4  # shorter values would mask ordinary words everywhere
MIN_LINE = 8  # lines of a multi-line secret shorter than this ("}", "-----") stay visible
MIN_B64 = 8
MEMO_CHARS = 64  # strings up to this long are remembered redacted ...
MEMO_SIZE = 4096  # ... this many at most (then forgotten all at once)
# Environment variables whose *names* say they hold a secret (a safety net besides the refs).
SECRET_NAME = re.compile(r"(?i)(api_?key|token|secret|password|passwd|credentials?)$")


def _ci(word: str) -> list[str]:
    """Case-insensitive ``word`` as branches that each start with a literal character.

    Every branch of the key regex starts with a literal, so ``re`` can skip ahead to candidate
    positions instead of trying every branch at every character.
    """
    rest = "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word[1:])
    return [re.escape(word[0].lower()) + rest, re.escape(word[0].upper()) + rest]


_SEP = r"[\"']?\s*[:=]\s*[\"']?"
_KEYWORDS = ("api_key", "api-key", "apikey", "access_token", "access-token", "auth_token",
             "auth-token", "secret_key", "secret-key", "password")
# Shapes of well-known keys; the first character of each branch is a literal (see ``_ci``).
KEY_PATTERNS: tuple[str, ...] = (
    r"sk-(?<![A-Za-z0-9]sk-)(?:ant-|proj-)?[A-Za-z0-9][A-Za-z0-9_\-]{15,}",
    r"AIza[0-9A-Za-z_\-]{30,}",
    r"gh[pousr]_[A-Za-z0-9]{20,}",
    r"github_pat_[A-Za-z0-9_]{20,}",
    r"xox[bpars]-[A-Za-z0-9\-]{10,}",
    r"AKIA[0-9A-Z]{16}(?![0-9A-Z])",
    r"ASIA[0-9A-Z]{16}(?![0-9A-Z])",
    *(b + _SEP + r"[^\s\"',;}]+(?:[ \t]+[A-Za-z0-9\-._~+/=]{8,})?" for b in _ci("authorization")),
    *(b + r"\s+[A-Za-z0-9\-._~+/]{8,}=*" for b in _ci("bearer")),
    *(b + _SEP + r"[^\s\"'&,;}]+" for k in _KEYWORDS for b in _ci(k)),
)
# What to keep of a key-shaped match ("Bearer ", "api_key=") before the mask.
_KEEP = re.compile(r"(?i)(?:authorization" + _SEP + r"|bearer\s+|(?:" +
                   "|".join(re.escape(k) for k in _KEYWORDS) + ")" + _SEP + ")")


def _grouped(branches: Iterable[str]) -> str:
    """``a1|a2|b1`` as ``a(?:1|2)|b(?:1)``: at a candidate position ``re`` then tries only the
    branches that start with the character found there (3x faster than the flat alternation)."""
    groups: dict[str, list[str]] = {}
    for branch in branches:
        first = branch[:2] if branch.startswith("\\") else branch[:1]
        groups.setdefault(first, []).append(branch[len(first):])
    return "|".join(first + "(?:" + "|".join(rests) + ")" for first, rests in groups.items())


_KEYS_ONLY = re.compile(_grouped(KEY_PATTERNS))

# Keys of dicts whose values are secrets whatever they look like.
SECRET_KEYS = frozenset({"password", "secret", "token", "apikey", "api_key", "authorization",
                         "auth_token", "access_token", "secret_key", "x-api-key"})


# JSON short escapes (at any depth of escaping: a backslash, then maybe more), PTY newlines,
# "+" for a space in a query string.
_SHORT = {"\n": [r"\r\n", r"\\\\*n"], "\r": [r"\\\\*r"], "\t": [r"\\\\*t"], '"': [r'\\\\*"'],
          "\\": [r"\\\\*"], "/": [r"\\\\*/"], "\b": [r"\\\\*b"], "\f": [r"\\\\*f"], " ": [r"\+"]}


def _char_forms(ch: str) -> list[str]:
    """Regexes for one character of a secret in each of its escaped forms (each starts literally)."""
    if ch.isalnum() and ch.isascii():
        return [re.escape(ch)]
    forms = [re.escape(ch)]
    if ord(ch) < 0x10000:
        forms.append(r"\\\\*u" + "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in f"{ord(ch):04x}"))
    forms.append("".join(f"%(?i:{b:02x})" for b in ch.encode()))  # URL-encoded, either case
    forms.extend(_SHORT.get(ch, ()))
    return forms


def _secret_patterns(secret: str) -> list[str]:
    """Branches matching ``secret`` in any escaping; one per form of its first character."""
    rest = "".join(f[0] if len(f := _char_forms(ch)) == 1 else "(?:" + "|".join(f) + ")"
                   for ch in secret[1:])
    return [first + rest for first in _char_forms(secret[0])]


def _anchor(secret: str) -> str:
    """The longest run of ASCII letters and digits: it stays literal in every escaped form."""
    runs = re.findall(r"[A-Za-z0-9]+", secret)
    return max(runs, key=len) if runs else ""


def _base64_forms(secret: str) -> set[str]:
    """The base64 text of ``secret`` at each of the three alignments inside longer data."""
    raw = secret.encode()
    forms: set[str] = set()
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + raw).decode()
        start, end = -(-8 * k // 6), 8 * (k + len(raw)) // 6  # characters fixed by the secret alone
        middle = enc[start:end]
        if len(middle) >= MIN_B64:
            forms.add(middle)
            forms.add(middle.replace("+", "-").replace("/", "_"))
    return forms


class Redactor:
    """Replaces known secret values and key-shaped strings with ``***``; thread-safe to call."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._checks: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = ()
        self._memo: dict[str, str] = {}  # short text -> redacted with the current checks
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Learn more secret values (e.g. a token read later)."""
        new = {s for s in secrets if isinstance(s, str) and len(s.strip()) >= MIN_SECRET}
        if not new - self._secrets:
            return
        self._secrets |= new
        checks = []
        for secret in sorted(self._secrets, key=len, reverse=True):
            variants = [secret] + [line.strip() for line in re.split(r"\r?\n", secret)
                                   if len(line.strip()) >= MIN_LINE and line.strip() != secret]
            b64 = sorted(_base64_forms(secret), key=len, reverse=True)
            # Longest first, so the whole secret wins over one of its lines.
            branches = [p for v in variants for p in _secret_patterns(v)] + [re.escape(b) for b in b64]
            anchors = tuple(dict.fromkeys([_anchor(v) for v in variants + b64]))
            checks.append((("",) if "" in anchors else anchors, re.compile("|".join(branches))))
        self._checks = tuple(checks)  # swapped atomically: safe against concurrent redact()
        # Then a new memo: a redact() that read the old one stores there (see redact()).
        self._memo = {}

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    @staticmethod
    def _replace(match: re.Match[str]) -> str:
        keep = _KEEP.match(match.group())
        return (keep.group() if keep else "") + MASK

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """``(start, end, replacement)`` of everything to mask in ``text``; sorted, never overlapping."""
        found: list[tuple[int, int, str]] = []
        for anchors, regex in self._checks:
            # A plain substring test first: the regex only runs on text that may hold the secret.
            if any(a in text for a in anchors):
                found.extend((m.start(), m.end(), MASK) for m in regex.finditer(text))
        found.extend((m.start(), m.end(), self._replace(m)) for m in _KEYS_ONLY.finditer(text))
        if len(found) < 2:
            return found
        found.sort(key=lambda t: (t[0], -t[1]))
        merged = [found[0]]
        for start, end, repl in found[1:]:
            last = merged[-1]
            if start < last[1]:  # overlapping matches mask their union
                merged[-1] = (last[0], max(last[1], end), last[2])
            else:
                merged.append((start, end, repl))
        return merged

    def redact(self, text: str) -> str:
        """``text`` with every secret and key-shaped value replaced by ``***``."""
        if not text:
            return text
        memo = self._memo  # before the checks: add() swaps the checks first, then the memo
        short = len(text) <= MEMO_CHARS
        if short:
            done = memo.get(text)
            if done is not None:
                return done
        spans = self.spans(text)
        if spans:
            out, pos = [], 0
            for start, end, repl in spans:
                out += [text[pos:start], repl]
                pos = end
            out.append(text[pos:])
            redacted = "".join(out)
        else:
            redacted = text
        if short:
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            memo[text] = redacted
        return redacted

    def redact_obj(self, obj: Any) -> Any:
        """A deep copy of dicts/lists/tuples/strings with every string redacted.

        Values under keys that name a secret (``password``, ``token``, ``apiKey``...) become
        ``***`` whatever they hold. Other values (numbers, None, booleans) are returned as is.
        """
        if isinstance(obj, str):
            return self.redact(obj)
        if isinstance(obj, Mapping):
            out = {}
            for key, value in obj.items():
                name = key.lower() if isinstance(key, str) else ""
                if name in SECRET_KEYS and isinstance(value, str) and value:
                    out[self.redact(key)] = MASK
                else:
                    out[self.redact(key) if isinstance(key, str) else key] = self.redact_obj(value)
            return out
        if isinstance(obj, list):
            return [self.redact_obj(v) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self.redact_obj(v) for v in obj)
        return obj

    __call__ = redact


def from_environment(refs: Mapping[str, str], environ: Mapping[str, str], *,
                     extra: Iterable[str] = (), by_name: bool = True) -> Redactor:
    """A redactor for one run.

    ``refs`` maps agent env vars to the runner env vars holding secrets (the pool's
    ``credentials``, merged over all agents); their values in ``environ`` are the secrets.
    ``extra`` adds values known otherwise (the registry auth token). With ``by_name``, values
    of variables named like ``*_API_KEY`` / ``*_TOKEN`` / ``*SECRET`` / ``*PASSWORD`` are
    secrets too (when at least 8 characters long), so a forgotten reference still gets masked.
    """
    secrets = [environ[name] for name in refs.values() if environ.get(name)]
    secrets.extend(s for s in extra if s)
    if by_name:
        secrets.extend(v for k, v in environ.items() if SECRET_NAME.search(k) and len(v) >= 8)
    return Redactor(secrets)


_SECRET_OPTION = re.compile(r"(?i)(token|password|secret|key|credentials?)(Env|File)$")


def from_pool(pool: Pool, environ: Mapping[str, str], *, extra: Iterable[str] = ()) -> Redactor:
    """The redactor of a run on ``pool``: every credential reference of its agents and templates,
    the auth token (``auth.tokenEnv`` / ``auth.tokenFile``) and secrets registries name the same
    way (``passwordEnv``, ``tokenFile``...), plus ``extra`` and secret-named variables."""
    refs: dict[str, str] = {}
    definitions = [a.definition for a in pool.agents] + [t.definition for t in pool.templates]
    for i, definition in enumerate(definitions):
        refs.update({f"{i}:{k}": v for k, v in definition.credentials.items()})
    found = list(extra)
    for options in [pool.auth, *(r.options for r in pool.registries)]:
        for key, value in options.items():
            match = _SECRET_OPTION.search(key) if isinstance(value, str) else None
            if match and match.group(2) == "Env":
                refs[key] = value
            elif match:
                try:
                    found.append(Path(value).expanduser().read_text(encoding="utf-8").strip())
                except OSError:
                    pass  # the registry reports the missing file itself, as a configuration error
    return from_environment(refs, environ, extra=found)
