"""Global sensitivity analysis: Sobol' indices and Morris screening of the uncertain parameters.

    peersim experiment=sobol                   # every parameter in conf/uncertainty, default outputs
    peersim experiment=morris experiment.trajectories=20

The method (what is sampled, how seed noise is handled, how to read the indices, the cost, the
outputs and how to reanalyse a folder) is described in docs/sensitivity.md. The modules:

* :mod:`.problem`: the analysed parameters and their distributions (unit cube -> values);
* :mod:`.design`: Sobol' and Morris designs run with common seeds (:func:`sobol`, :func:`morris`)
  and the peersim model as the evaluation function (:class:`ModelEvaluation`);
* :mod:`.noise`: the seed noise left in the outputs and in the indices;
* :mod:`.analysis`: the indices from a samples table (:func:`analyse`), influential parameters and
  what the report may say of each index (:func:`verdicts`);
* :mod:`.report`: ``sensitivity.md``; :mod:`.charts`: the charts;
* :mod:`.folder`: writing a run folder and redoing its analysis (:func:`reanalyse`);
* :mod:`.experiment`: the two experiments' settings, their runs and printed findings.
"""

from __future__ import annotations

from peersim.experiments.sensitivity.analysis import (
    IMPRECISE,
    IMPRECISE_MORRIS,
    INFLUENTIAL,
    NEGLIGIBLE,
    SensitivityResult,
    analyse,
    design_unit_cube,
    influential,
    morris_analyze,
    sobol_analyze,
    verdicts,
)
from peersim.experiments.sensitivity.design import (
    ModelEvaluation,
    check_outputs,
    evaluate_design,
    morris,
    sobol,
)
from peersim.experiments.sensitivity.experiment import (
    DEFAULT_OUTPUTS,
    EXPERIMENTS,
    MorrisExperiment,
    SobolExperiment,
    model_problem,
    run_morris,
    run_sobol,
)
from peersim.experiments.sensitivity.folder import reanalyse, write_result
from peersim.experiments.sensitivity.noise import (
    NOISY,
    morris_noise_floor,
    output_matrix,
    output_stats,
    seed_noise_share,
    seed_noise_variance,
)
from peersim.experiments.sensitivity.problem import Evaluate, Parameter, Problem, close_matches
from peersim.experiments.sensitivity.report import chart_name, report_markdown

__all__ = [
    "DEFAULT_OUTPUTS",
    "EXPERIMENTS",
    "IMPRECISE",
    "IMPRECISE_MORRIS",
    "INFLUENTIAL",
    "NEGLIGIBLE",
    "NOISY",
    "Evaluate",
    "ModelEvaluation",
    "MorrisExperiment",
    "Parameter",
    "Problem",
    "SensitivityResult",
    "SobolExperiment",
    "analyse",
    "chart_name",
    "check_outputs",
    "close_matches",
    "design_unit_cube",
    "evaluate_design",
    "influential",
    "model_problem",
    "morris",
    "morris_analyze",
    "morris_noise_floor",
    "output_matrix",
    "output_stats",
    "reanalyse",
    "report_markdown",
    "run_morris",
    "run_sobol",
    "seed_noise_share",
    "seed_noise_variance",
    "sobol",
    "sobol_analyze",
    "verdicts",
    "write_result",
]
