"""The watch the panel's tests rely on: a console error or an uncaught error in the page
fails the test, and so does an unlabelled control."""

import pytest

from tests.panel.conftest import PanelPage

pytestmark = [pytest.mark.integration]


def test_a_console_error_or_an_uncaught_error_fails_the_check(panel_page: PanelPage) -> None:
    panel_page.page.set_content(
        "<script>console.error('boom'); setTimeout(() => { throw new Error('uncaught'); });"
        "</script>"
    )
    for _ in range(100):  # the browser reports both events asynchronously
        if len(panel_page.errors) >= 2:
            break
        panel_page.page.wait_for_timeout(50)
    with pytest.raises(AssertionError) as failed:
        panel_page.assert_no_errors()
    assert "console error: boom" in str(failed.value)
    assert "uncaught page error: uncaught" in str(failed.value)
    panel_page.errors.clear()  # seen: the fixture's own check must pass


def test_an_unlabelled_control_fails_the_accessibility_check(panel_page: PanelPage) -> None:
    panel_page.page.set_content(
        '<html lang="vi"><main><h1>Trang</h1><label for="a">Tên</label><input id="a">'
        '<input id="b"><button type="button"></button></main></html>'
    )
    with pytest.raises(AssertionError) as failed:
        panel_page.assert_accessible("test")
    assert "unlabelled input b" in str(failed.value)
    assert "nameless <button" in str(failed.value)
    assert "input a" not in str(failed.value)
