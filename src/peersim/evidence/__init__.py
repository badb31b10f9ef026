"""The parameter evidence register: every parameter in ``conf/`` with its value, unit, source,
evidence quality and, where it is uncertain, its distribution.

``docs/parameters.md`` and ``docs/parameters.csv`` are generated from ``conf/`` and never edited
by hand, so they cannot drift from the values a run uses::

    peersim-register            # (re)write docs/parameters.md and docs/parameters.csv
    peersim-register --check    # exit 1 if they are out of date with conf/ (for CI)

Where the pieces come from, one module each:

* :mod:`~peersim.evidence.comments` reads the keys of a conf file and the comment next to each
  (``key: value   # <unit>; <what it is and where it comes from>``);
* :mod:`~peersim.evidence.rules` decides a value's evidence quality (one of :data:`QUALITIES`)
  from its comment and names, with file and line, a comment that states no unit or source or
  cites a document outside the repository;
* :mod:`~peersim.evidence.scope` says which keys are parameters: run settings that carry no
  evidence (the seed, output switches, names and labels, which municipalities a run includes,
  the economics mode) are listed separately, see :data:`SETTINGS`; ``conf/experiment/`` and
  ``conf/hydra/`` are not part of the register;
* :mod:`~peersim.evidence.layers` lists the conf files that write values and the option of its
  group each one is;
* :mod:`~peersim.evidence.register` composes the configuration as a run does and builds one row
  per parameter, per scenario or municipality preset that sets it differently;
* :mod:`~peersim.evidence.formatting` and :mod:`~peersim.evidence.render` write the rows as
  Markdown and CSV;
* :mod:`~peersim.evidence.cli` is the ``peersim-register`` command (also ``python -m peersim.evidence``).
"""

from peersim.evidence.cli import default_outdir, main, stale_files
from peersim.evidence.comments import Comment, Entry, parse_comment, parse_conf_file
from peersim.evidence.formatting import format_distribution, format_value
from peersim.evidence.layers import Layer, conf_layers, default_options, option_includes
from peersim.evidence.register import (
    Register,
    RegisterError,
    Row,
    Setting,
    build_register,
    config_leaves,
    leaf_keys,
)
from peersim.evidence.render import (
    CSV_COLUMNS,
    SECTION_INTRO,
    SUBSECTIONS,
    outputs,
    render_csv,
    render_markdown,
)
from peersim.evidence.rules import (
    MAX_UNIT_CHARS,
    QUALITIES,
    SOURCE_IDS,
    citation_problems,
    entry_problems,
    quality_of,
    source_of,
    states_reason,
    unit_of,
)
from peersim.evidence.scope import (
    COMPARISON_ONLY,
    EXCLUDED_GROUPS,
    SECTIONS,
    SETTINGS,
    is_comparison_only,
    is_setting,
)

__all__ = [
    "COMPARISON_ONLY", "CSV_COLUMNS", "EXCLUDED_GROUPS", "MAX_UNIT_CHARS", "QUALITIES", "SECTIONS",
    "SECTION_INTRO", "SETTINGS", "SOURCE_IDS", "SUBSECTIONS", "Comment", "Entry", "Layer", "Register", "RegisterError", "Row",
    "Setting", "build_register", "citation_problems", "conf_layers", "config_leaves",
    "default_options", "default_outdir", "entry_problems", "format_distribution", "format_value",
    "is_comparison_only", "is_setting", "leaf_keys", "main", "option_includes", "outputs",
    "parse_comment", "parse_conf_file", "quality_of", "render_csv", "render_markdown", "source_of",
    "stale_files", "states_reason", "unit_of",
]
