"""The static site's own plumbing: one copy of each JavaScript library per site, and the fixes
that let Quarto's output work opened from disk (``file://``) with no network.

Why this exists:

- Pages used to inline plotly.js and DataTables into every page (about 5.9 MB a page). Now the
  notebooks emit plain markup that *marks* what it needs (``data-sa-needs``), and
  :func:`post_render` writes each library once into ``site_libs/support-analytics/`` (plotly.js
  and the report's own page scripts: tables, filters) and adds one ``<script src>`` per file
  to the pages that need it.
- Browsers refuse ES-module scripts from ``file://`` (origin ``null``), so Quarto's own
  ``quarto.js`` never ran there. :func:`module_to_classic` turns such a module (and the relative
  modules it imports) into one classic, deferred script, which ``file://`` allows.
- Quarto's navbar search fetches ``search.json``, which a browser refuses from ``file://``
  (and Quarto's script alerts "Search requires ... a web server"). :func:`inline_search`
  ships the index as a script (``site_libs/support-analytics/search-index.js``) and lets
  Quarto's search read it from there.
- Quarto copies DataTables' PDF export (pdfmake and its fonts, 2 MB) into every dashboard
  site; no page of ours uses it, so it is dropped when nothing references it.

Quarto runs :func:`post_render` after every render (``_quarto.yml``: ``post-render``), so a plain
``quarto render`` gives the same site as ``support-analytics report``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from support_analytics.io.files import atomic_write_bytes

#: Our own folder inside Quarto's ``site_libs``: the shared libraries every page points at.
LIBS_DIR_NAME = "support-analytics"
#: What a page's markup may ask for (``data-sa-needs="plotly tables"``), and the files that
#: provide it, in load order.
NEEDS_ATTR = "data-sa-needs"
LIBRARIES: dict[str, tuple[str, ...]] = {
    "plotly": ("plotly.min.js",),
    "tables": ("tables.js",),
    "slicer": ("slicer.js", "picker.js", "dashboard.js"),
}
#: Files Quarto's dashboard format copies for DataTables' export buttons, unused by our pages.
PRUNABLE = ("pdfmake.min.js", "vfs_fonts.js", "datatables.min.js", "datatables.min.css")
CLASSIC_SUFFIX = ".classic.js"
#: The site's search index as a script, and the global it sets (read by quarto-search.js).
SEARCH_INDEX_NAME = "search-index.js"
SEARCH_GLOBAL = "SA_SEARCH_INDEX"
_SEARCH_SCRIPT = "quarto-search.js"
#: The two places in Quarto 1.7's quarto-search.js that refuse file:// and fetch the index.
_SEARCH_PATCHES = (
    (
        'window.location.protocol === "file:" && !shownWarning',
        f'window.location.protocol === "file:" && !window.{SEARCH_GLOBAL} && !shownWarning',
    ),
    (
        'const response = await fetch(offsetURL("search.json"));',
        f"const response = window.{SEARCH_GLOBAL} ? "
        f"new Response(JSON.stringify(window.{SEARCH_GLOBAL})) : "
        'await fetch(offsetURL("search.json"));',
    ),
)


class ModuleConversionError(ValueError):
    """A module uses syntax :func:`module_to_classic` does not rewrite (named or default
    imports, ``import.meta``, dynamic imports, re-exports)."""


# --------------------------------------------------------------------------------------------
# ES module -> classic script
# --------------------------------------------------------------------------------------------
_IMPORT_STAR = re.compile(
    r"""^[ \t]*import\s+\*\s+as\s+([A-Za-z_$][\w$]*)\s+from\s+["'](\.{1,2}/[^"']+)["'];?[ \t]*$""",
    re.MULTILINE,
)
_EXPORT_DECL = re.compile(
    r"^([ \t]*)export\s+((?:async\s+)?function\*?|const|let|var|class)\s+([A-Za-z_$][\w$]*)",
    re.MULTILINE,
)
_EXPORT_LIST = re.compile(r"(?<![\w$.])export\s*\{([^}]*)\}\s*;?")
_LEFTOVER = re.compile(r"(?<![\w$.])(?:import\s*[\s{*\"'(]|import\.meta|export\s)")


def _strip_comments_and_strings(source: str) -> str:
    """The code with string literals and comments blanked, so the syntax checks below do not
    trip on the word 'import' inside a string or a licence comment."""
    pattern = re.compile(
        r"//[^\n]*|/\*.*?\*/|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`",
        re.DOTALL,
    )
    return pattern.sub(lambda m: " " * len(m.group(0)), source)


def _exports(source: str) -> tuple[str, dict[str, str]]:
    """The source without its export keywords, and its exports as {exported name: local}."""
    names: dict[str, str] = {}

    def decl(m: re.Match[str]) -> str:
        names[m.group(3)] = m.group(3)
        return f"{m.group(1)}{m.group(2)} {m.group(3)}"

    source = _EXPORT_DECL.sub(decl, source)

    def listed(m: re.Match[str]) -> str:
        for item in m.group(1).split(","):
            parts = item.split()
            if not parts:
                continue
            if len(parts) == 3 and parts[1] == "as":
                names[parts[2]] = parts[0]
            elif len(parts) == 1:
                names[parts[0]] = parts[0]
            else:
                raise ModuleConversionError(f"unsupported export item {item.strip()!r}")
        return ""

    source = _EXPORT_LIST.sub(listed, source)
    return source, names


def module_to_classic(
    source: str,
    read: Callable[[str], str],
    global_name: str | None = None,
    _seen: tuple[str, ...] = (),
) -> str:
    """A classic script doing what the ES module ``source`` does.

    ``import * as x from "./y.js"`` is inlined (``read`` returns the text of a relative path,
    which is resolved against the importing file by the caller), ``export`` declarations and
    ``export {a as b}`` lists become an object the script returns, and the whole runs in a
    strict function scope, as a module would. ``global_name`` keeps the exports on ``window``.
    """
    imports = [(m.group(1), m.group(2)) for m in _IMPORT_STAR.finditer(source)]
    body = _IMPORT_STAR.sub("", source) if imports else source
    body, exported = _exports(body)
    leftover = _LEFTOVER.search(_strip_comments_and_strings(body))
    if leftover:
        snippet = body[leftover.start() : leftover.start() + 40].replace("\n", " ")
        raise ModuleConversionError(f"cannot rewrite module syntax near {snippet!r}")
    parts = ["(function () {", '"use strict";']
    for alias, spec in imports:
        if spec in _seen:
            raise ModuleConversionError(f"circular import of {spec}")
        inner = module_to_classic(read(spec), _sub_reader(read, spec), None, (*_seen, spec))
        parts.append(f"const {alias} = {inner};")
    parts.append(body)
    result = ", ".join(f"{_js_key(k)}: {v}" for k, v in exported.items())
    parts.append(f"return {{{result}}};")
    parts.append("})()")
    script = "\n".join(parts)
    if global_name is not None:
        return f"window[{_js_string(global_name)}] = {script};\n"
    return script + ";\n"


def _sub_reader(read: Callable[[str], str], spec: str) -> Callable[[str], str]:
    """A reader resolving paths relative to the module at ``spec``."""
    base = spec.rsplit("/", 1)[0]
    return lambda inner: read(os.path.normpath(f"{base}/{inner}").replace(os.sep, "/"))


def _js_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_$][\w$]*", name) else _js_string(name)


def _js_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_readable(path: Path, data: bytes) -> None:
    """Atomic write of a file the site publishes: readable by everyone like any other site
    file (the atomic write's temp file is created 0600)."""
    atomic_write_bytes(path, data)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o644 & ~umask)


def _file_reader(base: Path) -> Callable[[str], str]:
    return lambda rel: (base / rel).resolve().read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Libraries, written once per site
# --------------------------------------------------------------------------------------------
def _library_sources() -> dict[str, Callable[[], bytes]]:
    """Where each shared file comes from: the installed plotly package, and this package's own
    page scripts (web/)."""
    import plotly

    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    web = Path(__file__).parent / "web"
    sources: dict[str, Callable[[], bytes]] = {"plotly.min.js": plotly_js.read_bytes}
    for script in ("tables.js", "slicer.js", "picker.js", "dashboard.js"):
        sources[script] = (web / script).read_bytes
    return sources


def write_libraries(libs_dir: Path, names: Iterable[str]) -> list[Path]:
    """Write the named shared files into ``libs_dir`` (atomically; unchanged ones are kept)."""
    sources = _library_sources()
    written = []
    for name in names:
        data = sources[name]()
        target = libs_dir / name
        same = target.exists() and target.stat().st_size == len(data)
        if not (same and target.read_bytes() == data):
            write_readable(target, data)
        written.append(target)
    return written


# --------------------------------------------------------------------------------------------
# Post-render: fix every rendered page
# --------------------------------------------------------------------------------------------
_MODULE_TAG = re.compile(r"<script\b([^>]*)\btype=[\"']module[\"']([^>]*)>\s*</script>", re.I)
_SRC = re.compile(r"\bsrc=[\"']([^\"']+)[\"']", re.I)
_NEEDS = re.compile(NEEDS_ATTR + r"=[\"']([^\"']*)[\"']")
_HEAD_END = re.compile(r"</head>", re.I)
_REMOTE_TAG = re.compile(
    r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=[\"']((?:https?:)?//[^\"']+)[\"']", re.I
)


def _classic_copy(module_path: Path) -> Path:
    """``x.js`` -> ``x.classic.js`` beside it, rewritten when the module is newer."""
    target = module_path.with_name(module_path.name[: -len(".js")] + CLASSIC_SUFFIX)
    if not target.exists() or target.stat().st_mtime_ns < module_path.stat().st_mtime_ns:
        source = module_path.read_text(encoding="utf-8")
        script = module_to_classic(source, _file_reader(module_path.parent))
        write_readable(target, script.encode("utf-8"))
    return target


def fix_page(page: Path, site_dir: Path) -> set[str]:
    """Rewrite one rendered page in place; returns the libraries it needs."""
    text = page.read_text(encoding="utf-8")
    original = text

    def classic(m: re.Match[str]) -> str:
        attrs = m.group(1) + m.group(2)
        src = _SRC.search(attrs)
        if src is None or "://" in src.group(1):
            return m.group(0)
        module_path = (page.parent / src.group(1)).resolve()
        if not module_path.is_file():
            return m.group(0)
        copy = _classic_copy(module_path)
        href = os.path.relpath(copy, page.parent).replace(os.sep, "/")
        return f'<script src="{href}" defer></script>'

    text = _MODULE_TAG.sub(classic, text)
    needs = {n for m in _NEEDS.finditer(text) for n in m.group(1).split() if n in LIBRARIES}
    libs_dir = site_dir / "site_libs" / LIBS_DIR_NAME
    tags = []
    for lib in sorted(needs):
        for name in LIBRARIES[lib]:
            href = os.path.relpath(libs_dir / name, page.parent).replace(os.sep, "/")
            if href in text:
                continue
            if name.endswith(".css"):
                tags.append(f'<link rel="stylesheet" href="{href}">')
            else:
                tags.append(f'<script src="{href}"></script>')
    if tags:
        text = _HEAD_END.sub(lambda _m: "\n".join(tags) + "\n</head>", text, count=1)
    if text != original:
        write_readable(page, text.encode("utf-8"))
    return needs


def _dedupe_libs(site_dir: Path, pages: list[Path]) -> None:
    """Point pages at one copy of files that are byte-identical in the same folder (Quarto
    writes its dark-mode stylesheet even for a light-only theme: 0.5 MB, the same bytes)."""
    groups: dict[tuple[Path, int, str], list[Path]] = {}
    for path in sorted((site_dir / "site_libs").rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            groups.setdefault((path.parent, path.stat().st_size, digest), []).append(path)
    renames = {}
    for files in groups.values():
        keep, *copies = sorted(files, key=lambda p: (len(p.name), p.name))
        for copy in copies:
            renames[copy] = keep
    if not renames:
        return
    for page in pages:
        text = page.read_text(encoding="utf-8")
        new = text
        for copy, keep in renames.items():
            old_href = os.path.relpath(copy, page.parent).replace(os.sep, "/")
            new_href = os.path.relpath(keep, page.parent).replace(os.sep, "/")
            new = new.replace(f'"{old_href}"', f'"{new_href}"')
        if new != text:
            write_readable(page, new.encode("utf-8"))
    texts = [p.read_text(encoding="utf-8") for p in pages]
    for copy in renames:
        if not any(copy.name in t for t in texts):
            copy.unlink()


def inline_search(site_dir: Path, pages: list[Path]) -> None:
    """Make the navbar search work from ``file://``: the index as a script every searching
    page loads before quarto-search.js, which reads it instead of fetching search.json. A
    quarto-search.js this does not know is refused (the search would silently find nothing)."""
    index = site_dir / "search.json"
    searches = list((site_dir / "site_libs").rglob(_SEARCH_SCRIPT))
    if not index.is_file() or not searches:
        return
    body = index.read_text(encoding="utf-8").strip() or "[]"
    libs_dir = site_dir / "site_libs" / LIBS_DIR_NAME
    write_readable(libs_dir / SEARCH_INDEX_NAME, f"window.{SEARCH_GLOBAL} = {body};\n".encode())
    for script in searches:
        text = script.read_text(encoding="utf-8")
        new = text
        for old, patched in _SEARCH_PATCHES:
            if patched not in new:
                if old not in new:
                    raise RuntimeError(
                        f"{script}: this Quarto's search script is not the one "
                        "website.inline_search knows; update _SEARCH_PATCHES for it"
                    )
                new = new.replace(old, patched)
        if new != text:
            write_readable(script, new.encode("utf-8"))
    tag = re.compile(r"<script src=\"([^\"]*/)" + re.escape(_SEARCH_SCRIPT) + r"\"></script>")
    for page in pages:
        text = page.read_text(encoding="utf-8")
        href = os.path.relpath(libs_dir / SEARCH_INDEX_NAME, page.parent).replace(os.sep, "/")
        if href in text:
            continue
        script_tag = f'<script src="{href}"></script>\n'
        new = tag.sub(lambda m, pre=script_tag: pre + m.group(0), text, count=1)
        if new != text:
            write_readable(page, new.encode("utf-8"))


def remote_references(site_dir: Path) -> list[str]:
    """Every script, stylesheet, image or frame a page would fetch from the network."""
    found = []
    for page in sorted(site_dir.rglob("*.html")):
        for m in _REMOTE_TAG.finditer(page.read_text(encoding="utf-8")):
            found.append(f"{page.relative_to(site_dir)}: {m.group(1)}")
    return found


def post_render(site_dir: Path) -> None:
    """Fix every page of the site, write the shared libraries the pages need, drop the unused
    heavy files, and refuse a site that would fetch anything from the network."""
    site_dir = Path(site_dir)
    pages = sorted(site_dir.rglob("*.html"))
    needs: set[str] = set()
    for page in pages:
        needs |= fix_page(page, site_dir)
    names = [name for lib in sorted(needs) for name in LIBRARIES[lib]]
    write_libraries(site_dir / "site_libs" / LIBS_DIR_NAME, names)
    inline_search(site_dir, pages)
    _dedupe_libs(site_dir, pages)
    texts = [p.read_text(encoding="utf-8") for p in pages]
    converted = [
        c.with_name(c.name[: -len(CLASSIC_SUFFIX)] + ".js")
        for c in (site_dir / "site_libs").rglob("*" + CLASSIC_SUFFIX)
    ]
    unused = [p for name in PRUNABLE for p in (site_dir / "site_libs").rglob(name)]
    for path in [*unused, *converted]:
        if path.exists() and not any(path.name in t for t in texts):
            path.unlink()
    remote = remote_references(site_dir)
    if remote:
        listed = "; ".join(remote[:5])
        raise RuntimeError(f"the site would load {len(remote)} file(s) from the network: {listed}")
