"""Print the names of the `dev` extra's packages (pyproject.toml), for the image to uninstall.

The image installs the project as `make setup` does, dev tools included; this list, read from
the one place the tools are named, is what its build removes again.
"""

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def dev_packages(pyproject: Path = PYPROJECT) -> list[str]:
    data = tomllib.loads(pyproject.read_text("utf-8"))
    requirements = data["project"]["optional-dependencies"]["dev"]
    return [re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0] for requirement in requirements]


if __name__ == "__main__":
    sys.stdout.write(" ".join(dev_packages()) + "\n")
