"""Plotly figures from result tables: no computation here (DESIGN.md section 2)."""
from . import style
from .finance import budget_impact_figure, debt_service_figure, financing_figure
from .macc import macc_figure, sector_summary_figure
from .pathway import carbon_budget_figure, pathway_figure
from .portfolio import budget_use_figure, frontier_figure, phasing_figure

__all__ = ["budget_impact_figure", "budget_use_figure", "carbon_budget_figure", "debt_service_figure",
           "financing_figure", "frontier_figure", "macc_figure", "pathway_figure", "phasing_figure",
           "sector_summary_figure", "style"]
