"""The Dagster shell: one folder per stage (assets, checks, sensors, schedules)."""

import warnings

import dagster as dg

# Known and accepted: observable source assets are beta, partitioned asset checks preview.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
