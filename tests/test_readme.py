"""The README documents every setting and CI runs exactly the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

from alvh.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in Settings.model_fields:
        assert re.search(rf"^\| `{name}` \| `ALVH_{name.upper()}` \|", readme, re.M), name


def test_the_readme_settings_table_is_the_generated_one() -> None:
    """`alvh settings --markdown` writes it from the model's defaults and descriptions."""
    from alvh.core.settings import settings_markdown

    assert settings_markdown() in (ROOT / "README.md").read_text(), "regenerate: alvh settings --markdown"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.+?)\n```", readme, re.S)
    test_cmd = next(b for b in blocks if "pytest" in b)
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    # set -e ignores a failure inside an && list: without `|| exit $?` a lint failure would skip the tests and pass
    assert f"{test_cmd} || exit $?" in ci
    # and the main-job command, read from the README by .ci/main_job, in a fresh clone
    assert ci[-1] == "bash .ci/main_job"
    main_cmd = next(b for b in blocks if " alvh run " in b)
    assert re.match(r"^python -m pip install .* alvh run ", main_cmd)


def test_the_layer_diagram_matches_the_tree() -> None:
    """The README's layer diagram is each package's docstring, lowest layer first: regenerate with
    ``python -m tests.support.architecture --write``."""
    from tests.support.architecture import LAYERS_BEGIN, LAYERS_END, layer_diagram, readme_block

    text = (ROOT / "README.md").read_text()
    assert readme_block(text, LAYERS_BEGIN, LAYERS_END) == layer_diagram(), (
        "regenerate: python -m tests.support.architecture --write"
    )


def test_the_module_map_matches_the_tree() -> None:
    """The README's architecture module map is generated from ``src/alvh``: regenerate with
    ``python -m tests.support.architecture --write``."""
    from tests.support.architecture import module_map, readme_block

    assert readme_block((ROOT / "README.md").read_text()) == module_map(), (
        "regenerate: python -m tests.support.architecture --write"
    )
