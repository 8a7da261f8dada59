"""The plan for the whole territory: the emission pathway against the target
(:mod:`climateinvest.territory.pathway`), the municipal group's own emissions beside it
(:mod:`climateinvest.territory.municipal_scope`), every actor, what each controls, the capital need and the
EU Cities Mission's Investment Plan tables (:mod:`climateinvest.territory.investment_plan`).
"""
from climateinvest.territory.investment_plan import InvestmentPlanResult, build_investment_plan
from climateinvest.territory.municipal_scope import MunicipalScopeResult, build_municipal_scope
from climateinvest.territory.pathway import PathwayResult, build_pathway

__all__ = ["InvestmentPlanResult", "MunicipalScopeResult", "PathwayResult", "build_investment_plan",
           "build_municipal_scope", "build_pathway"]
