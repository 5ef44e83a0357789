"""What the before/after scripts share: a piece of Python run in a fresh process on one source
tree of minirnn (the tree first on ``PYTHONPATH``, the process started in it), its standard
output read back as one JSON document."""
from __future__ import annotations

import json
import os
import subprocess
import sys


def run_in_tree(tree: str, code: str, **env) -> dict:
    """The JSON document that ``code`` prints, run by ``python -c`` on ``tree``, with ``env``
    added to the environment."""
    environment = {**os.environ, "PYTHONPATH": tree, **env}
    out = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True,
                         text=True, check=True, cwd=tree).stdout
    return json.loads(out)
