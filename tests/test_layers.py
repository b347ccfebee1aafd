"""Layers import downwards only (DESIGN.md): a module may import only modules of lower layers.

The preview server knows only "a build callable"; stages never import the CLI. A new module
must be placed in LAYERS, which keeps the dependency direction a deliberate choice.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import PROJECT

LAYERS: list[set[str]] = [
    {"__init__"},
    {"diagnostics"},
    {"dates", "memo", "plans", "patching", "fingerprint", "token_blob", "textfile", "folders"},
    {"yamlfile"},
    {"schema"},
    {"config"},
    {"model"},
    {"frontmatter"},
    {"loader"},
    {"markdown"},
    {"annotations"},
    {"urls"},
    {"library"},
    {"views"},
    {"feeds", "sitemap", "jsonld", "search", "linkcheck"},
    {"publish"},
    {"parallel"},
    {"render"},
    {"output", "cache", "sources"},
    {"carried"},
    {"build"},
    {"importer", "scaffold", "reanchor", "listing"},
    {"watch", "serve", "daemon"},
    {"report"},
    {"commands_build", "commands_check", "commands_serve", "commands_import", "commands_new", "commands_list",
     "commands_daemon"},
    {"cli", "__main__"},
]


def layer_of(module: str) -> int:
    for index, names in enumerate(LAYERS):
        if module in names:
            return index
    raise AssertionError(f"site_gen/{module}.py is in no layer: add it to LAYERS in tests/test_layers.py")


def imported_site_gen_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "site_gen":  # `from site_gen import token_blob`
            found.update(a.name if (path.parent / f"{a.name}.py").is_file() else "__init__" for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("site_gen."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("site_gen."))
    return found


def test_modules_import_only_lower_layers() -> None:
    wrong = []
    for path in sorted((PROJECT / "site_gen").glob("*.py")):
        module = path.stem
        for imported in imported_site_gen_modules(path):
            same_or_higher = layer_of(imported) > layer_of(module)
            same_layer_peer = layer_of(imported) == layer_of(module) and imported != module and module not in ("__main__",)
            if same_or_higher or (same_layer_peer and not module.startswith("commands_")):
                wrong.append(f"{module} imports {imported}")
    assert wrong == []


def test_server_knows_only_a_build_callable() -> None:
    for module in ("serve", "watch"):
        path = PROJECT / "site_gen" / f"{module}.py"
        if path.exists():
            imported = imported_site_gen_modules(path)
            assert not imported & {"loader", "library", "render", "annotations", "frontmatter"}, module


def test_a_command_loads_only_its_own_module() -> None:
    """`site-gen build` starts without importing the server, the watcher or the link checker's
    HTTP client (a quarter of its start-up), and still lists every command in its help."""
    probe = ("import sys; from site_gen.cli import main; main(['build', '--config', 'missing/site.yaml']); "
             "print(sorted(m for m in sys.modules if m.startswith('site_gen.commands_') "
             "or m in ('site_gen.serve', 'site_gen.watch', 'urllib.request', 'http.server')))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60)
    assert loaded.stdout.strip() == "['site_gen.commands_build']", loaded.stderr
    assert "missing/site.yaml:1:1: error: config file not found" in loaded.stderr
    listed = subprocess.run([sys.executable, "-m", "site_gen", "--help"], capture_output=True, text=True, check=True, timeout=60)
    assert all(f"    {name} " in listed.stdout for name in ("build", "check", "serve", "import", "new", "list"))
