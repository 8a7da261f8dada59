"""The plan for the whole territory: the emission pathway against the target
(:mod:`climateinvest.territory.pathway`), every actor, what each controls, the capital need and the
EU Cities Mission's Investment Plan tables (:mod:`climateinvest.territory.investment_plan`).
"""
from climateinvest.territory.investment_plan import InvestmentPlanResult, build_investment_plan
from climateinvest.territory.pathway import PathwayResult, build_pathway

__all__ = ["InvestmentPlanResult", "PathwayResult", "build_investment_plan", "build_pathway"]
