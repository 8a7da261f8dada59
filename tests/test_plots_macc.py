"""MAC curve figures: bars per sector, widths, axis titles, carbon line, hover via customdata."""
import plotly.graph_objects as go
import pytest
from test_macc import REF_BASE, REFERENCE, M, make_case

from climateinvest.macc import build_macc, sector_summary
from climateinvest.report.plots import macc_figure, sector_summary_figure, style


@pytest.fixture(scope="module")
def result():
    odd = M("odd", capex=10_000, direct=5, life=10, source="e", sector="Fjärrvärme <b>x</b>")
    return build_macc(*make_case([*REFERENCE, odd], REF_BASE, interaction="sequential"))


def bars(fig):
    return [t for t in fig.data if isinstance(t, go.Bar)]


def test_macc_figure_bars_per_sector_widths_axes_and_carbon_line(result):
    fig = macc_figure(result, "SEK", carbon_value=1200)
    assert sorted(b.name for b in bars(fig)) == sorted(set(result.curve["sector"]))
    assert len(bars(fig)) == 3
    total = 900 + 5 * (1 - 250 / 1000)  # odd shares source e with meals (250 of 1000 t)
    assert sum(sum(b.width) for b in bars(fig)) == pytest.approx(total)
    assert result.curve["adjusted_tco2e"].sum() == pytest.approx(total)
    for b in bars(fig):  # midpoints of each measure's [start, end) span, drawn from 0
        c = result.curve[result.curve["sector"] == b.name]
        mid = c["cum_start_tco2e"] + c["adjusted_tco2e"] / 2
        assert list(b.x) == pytest.approx(mid.tolist())
        assert list(b.y) == pytest.approx(c["cost_per_tco2e"].tolist())
        assert b.base == 0
        assert b.marker.color == style.sector_colour(b.name)
    saver = next(b for b in bars(fig) if b.name == "buildings")
    assert min(saver.y) < 0  # the LED saver is drawn below zero
    assert fig.layout.xaxis.title.text == "Abatement in 2030 [t CO2e/year]"
    assert fig.layout.yaxis.title.text == "Cost [SEK per t CO2e]"
    assert fig.layout.barmode == "overlay"
    line = [t for t in fig.data if isinstance(t, go.Scatter)]
    assert len(line) == 1 and list(line[0].y) == [1200, 1200] and line[0].line.dash == "dash"
    assert list(line[0].x) == pytest.approx([0, total])
    other = macc_figure(result.curve, "EUR", reference_year=2035, cost_range=(-500, 2000))
    assert not [t for t in other.data if isinstance(t, go.Scatter)]
    assert other.layout.yaxis.title.text == "Cost [EUR per t CO2e]"
    assert other.layout.xaxis.title.text == "Abatement in 2035 [t CO2e/year]"
    assert list(other.layout.yaxis.range) == [-500, 2000]


def test_hover_text_comes_from_customdata_under_a_fixed_template(result):
    fig = macc_figure(result, "SEK")
    templates = {t.hovertemplate for t in fig.data}
    assert len(templates) == 1  # one fixed template: no user text inside it
    template = templates.pop()
    assert "Fjärrvärme" not in template and "SEK" not in template and "Measure" not in template
    odd = next(t for t in fig.data if t.name == "Fjärrvärme <b>x</b>")
    assert list(odd.customdata[0][[0, 1, 6, 7]]) == ["Measure odd", "SEK", "municipality",
                                                     "Fjärrvärme <b>x</b>"]
    assert odd.customdata[0][4] == 10_000  # investment


def test_sector_summary_figure_and_style():
    summary = sector_summary(build_macc(*make_case(REFERENCE, REF_BASE)).curve)
    fig = sector_summary_figure(summary, "SEK", reference_year=2030)
    assert len(fig.data) == 2 and list(fig.data[0].y) == ["buildings", "transport"]
    assert list(fig.data[0].x) == pytest.approx([850, 50])
    assert list(fig.data[1].x) == pytest.approx(summary["cost_per_tco2e"].tolist())
    assert fig.layout.xaxis.title.text == "Abatement in 2030 [t CO2e/year]"
    assert fig.layout.xaxis2.title.text == "Cost [SEK per t CO2e]"
    assert style.sector_colour("Transport") == style.SECTOR_COLOURS["transport"]
    unknown = style.sector_colour("harbour")
    assert unknown in style.FALLBACK_COLOURS and unknown == style.sector_colour("harbour")
    assert not set(style.FALLBACK_COLOURS) & set(style.SECTOR_COLOURS.values())
    assert style.money_axis_title("NOK") == "Cost [NOK]"
    assert style.abatement_axis_title() == "Abatement [t CO2e/year]"


def test_empty_curve_draws_a_message_not_an_error():
    r = build_macc(*make_case([M("enabler", capex=1, life=10)], {"s1": 10}))
    fig = macc_figure(r, "SEK", carbon_value=100)
    assert not bars(fig)
    assert "No measure" in fig.layout.annotations[0].text
    assert len(sector_summary_figure(sector_summary(r.curve), "SEK").data) == 2
