"""Plotly figures from result tables: no computation here (docs/architecture.md section 1)."""
from climateinvest.report.plots import style
from climateinvest.report.plots.finance import budget_impact_figure, debt_service_figure, financing_figure
from climateinvest.report.plots.macc import macc_figure, sector_summary_figure
from climateinvest.report.plots.pathway import carbon_budget_figure, pathway_figure
from climateinvest.report.plots.portfolio import budget_use_figure, frontier_figure, phasing_figure

__all__ = ["budget_impact_figure", "budget_use_figure", "carbon_budget_figure", "debt_service_figure",
           "financing_figure", "frontier_figure", "macc_figure", "pathway_figure", "phasing_figure",
           "sector_summary_figure", "style"]
