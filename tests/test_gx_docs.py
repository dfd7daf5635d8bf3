"""GX Data Docs are made offline: no script, stylesheet, image or CSS url() from another host."""

from __future__ import annotations

from alvh.schemas.gx_suites import offline_html


def test_offline_html_removes_every_external_load_and_keeps_content_and_links() -> None:
    page = (
        '<html><head><script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>\n'
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap.min.css">\n'
        "<style>.logo { background: url('https://assets.example/logo.png') no-repeat; }</style>\n"
        '<script src="static/local.js"></script></head>\n'
        '<body><img alt="GX" src="https://great-expectations-web-assets.s3.amazonaws.com/logo.png?d=1">'
        '<a href="https://greatexpectations.io">docs</a><table><tr><td>ratio_target</td></tr></table>'
        "<script>var x = 1;</script></body></html>"
    )
    out = offline_html(page)
    assert "jquery" not in out and "bootstrapcdn" not in out and "assets.example" not in out
    assert "s3.amazonaws.com" not in out
    assert '<script src="static/local.js"></script>' in out  # local files stay
    assert '<a href="https://greatexpectations.io">docs</a>' in out  # a link fetches nothing
    assert "<td>ratio_target</td>" in out and "<script>var x = 1;</script>" in out
    assert "background: none no-repeat" in out
