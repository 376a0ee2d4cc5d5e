"""A thin driver of the admin in Chromium: log in as someone, open a page, read what a
person sees (messages, errors, the options of a dropdown), press buttons.

HTTP status codes are not visible to a browser; `status` asks the same server with the
browser's session cookie and follows redirects itself, so a loop is seen as one.
"""

from __future__ import annotations

from pathlib import Path

import requests
from selenium.common.exceptions import NoSuchElementException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from accounts.demo import DEMO_PASSWORD

MAX_REDIRECTS = 5


class RedirectLoop(AssertionError):
    pass


class Browser:
    def __init__(self, driver, base_url: str):
        self.driver = driver
        self.base_url = base_url

    # --- navigation -------------------------------------------------------------------

    def login(self, email: str, password: str = DEMO_PASSWORD) -> None:
        # Cookies are deleted for the current page's site: be on it, on a page of no
        # consequence, then start from a fresh login page.
        self.open("/healthz")
        self.driver.delete_all_cookies()
        self.open("/admin/login/")
        self.driver.find_element(By.NAME, "username").send_keys(email)
        self.driver.find_element(By.NAME, "password").send_keys(password)
        self.click("input[type=submit]")
        assert self.driver.find_elements(By.ID, "user-tools"), f"{email} could not log in"

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    @property
    def path(self) -> str:
        return self.driver.current_url.removeprefix(self.base_url)

    def session(self) -> requests.Session:
        """An HTTP client with the browser's cookies (its login and CSRF token)."""
        session = requests.Session()
        for cookie in self.driver.get_cookies():
            session.cookies.set(cookie["name"], cookie["value"])
        return session

    def status(self, path: str) -> int:
        """The status a page ends with, following redirects (a loop raises)."""
        session = self.session()
        url = self.base_url + path
        for _ in range(MAX_REDIRECTS):
            response = session.get(url, allow_redirects=False, timeout=60)
            if response.status_code not in (301, 302, 303, 307, 308):
                return response.status_code
            url = requests.compat.urljoin(url, response.headers["Location"])
        raise RedirectLoop(f"{path} redirects more than {MAX_REDIRECTS} times (to {url})")

    # --- reading ----------------------------------------------------------------------

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def exists(self, css: str) -> bool:
        return bool(self.find_all(css))

    def read(self, script: str, css: str):
        """Read the page in one script: atomic, so a node replaced meanwhile (a script of
        the page re-rendering it) cannot go stale between two reads."""
        return self.driver.execute_script(script, css)

    def texts(self, css: str) -> list[str]:
        return self.read(
            "return Array.from(document.querySelectorAll(arguments[0]), e => e.innerText.trim())",
            css,
        )

    def messages(self) -> list[str]:
        return self.texts("ul.messagelist li")

    def errors(self) -> list[str]:
        return self.texts(".errornote, ul.errorlist li")

    def options(self, name: str) -> dict[str, str]:
        """value -> label of a dropdown's options, blank choice excluded."""
        pairs = self.read(
            "return Array.from(document.querySelector(arguments[0]).options,"
            " o => [o.value, o.text.trim()])",
            f"select[name='{name}']",
        )
        return {value: label for value, label in pairs if value}

    def selected(self, name: str) -> list[str]:
        return self.read(
            "return Array.from(document.querySelector(arguments[0]).selectedOptions, o => o.value)",
            f"select[name='{name}']",
        )

    def dropdowns(self) -> list[tuple[str, bool]]:
        """(name, is an autocomplete) of each dropdown of the page's form."""
        return self.read(
            "return Array.from(document.querySelectorAll(arguments[0]),"
            " s => [s.name, s.classList.contains('admin-autocomplete')])",
            "#content-main form select[name]",
        )

    def result_links(self) -> list[str]:
        """The change links of a changelist's rows, in order."""
        hrefs = self.read(
            "return Array.from(document.querySelectorAll(arguments[0]), a => a.href)",
            "#result_list tbody tr th a, #result_list tbody tr td a",
        )
        return [h.removeprefix(self.base_url) for h in hrefs if "/change/" in h]

    def values(self, css: str) -> list[str]:
        """The `value` of each element matching `css` (checkboxes, hidden inputs)."""
        return self.read(
            "return Array.from(document.querySelectorAll(arguments[0]), e => e.value)", css
        )

    # --- acting -----------------------------------------------------------------------

    def click(self, css: str, *, navigates: bool = True) -> None:
        """Click an element; by default wait for the page it leads to."""
        element = self.find(css)
        # A mark on the current page's window: the next page has none. (Waiting for the
        # old <html> to go stale fails in Chromium with "Node ... does not belong to the
        # document" instead of the stale-element error.)
        self.driver.execute_script(
            "window.__left = false; arguments[0].scrollIntoView({block: 'center'});", element
        )
        element.click()
        if navigates:
            # Asked while the page changes, the script may find no document to run in.
            WebDriverWait(self.driver, 60, ignored_exceptions=(WebDriverException,)).until(
                lambda d: d.execute_script(
                    "return window.__left === undefined && document.readyState === 'complete'"
                )
            )

    def fill(self, name: str, value: str) -> None:
        field = self.find(f"[name='{name}']")
        field.clear()
        field.send_keys(value)

    def choose(self, name: str, *, label: str | None = None, value: str | None = None) -> None:
        select = Select(self.find(f"select[name='{name}']"))
        if value is not None:
            select.select_by_value(value)
        else:
            select.select_by_visible_text(label)

    def _search(self, name: str, text: str) -> None:
        """Open a select2 autocomplete field and type `text` in its search box."""
        self.find(f"select[name='{name}'] + .select2").click()
        search = WebDriverWait(self.driver, 10).until(
            expected_conditions.visibility_of_element_located(
                (By.CSS_SELECTOR, ".select2-container--open .select2-search__field")
            )
        )
        search.send_keys(text)

    def autocomplete_offers(self, name: str, text: str) -> list[str]:
        """What a select2 autocomplete field lists for `text` ("No results found" too),
        closed again after."""
        self._search(name, text)
        # Answered when the search for `text` has come back and the box lists its results
        # (or says it found none) rather than loading them. The box first lists the
        # answer to the empty search it opens with, and `text` is sent only after
        # select2's typing delay: read then, the box gave the field's first page.
        WebDriverWait(self.driver, 10).until(
            lambda d: d.execute_script(
                "const answered = performance.getEntriesByType('resource').some("
                "  entry => new URL(entry.name).searchParams.get('term') === arguments[0]);"
                " const box = document.querySelector('.select2-container--open .select2-results');"
                " return answered && box && !box.querySelector('.loading-results')"
                " && box.innerText.trim() !== '' && !box.innerText.includes('Searching');",
                text,
            )
        )
        offered = self.texts(".select2-container--open .select2-results__option")
        self.find(".select2-container--open .select2-search__field").send_keys(Keys.ESCAPE)
        return offered

    def autocomplete(self, name: str, text: str) -> None:
        """Pick the first match of `text` in a select2 autocomplete field."""
        self._search(name, text)
        # The first answer (to the empty search) may still be showing: wait for a match.
        match = (By.CSS_SELECTOR, ".select2-results__option--highlighted")
        WebDriverWait(self.driver, 10).until(
            expected_conditions.text_to_be_present_in_element(match, text)
        )
        self.driver.find_element(*match).click()

    def force_choice(self, name: str, value: str) -> None:
        """Make a dropdown (an autocomplete's too) post `value`, offered or not: what a
        hand-edited page or a stale id pasted in sends."""
        self.driver.execute_script(
            "const select = document.querySelector(arguments[0]);"
            " select.add(new Option(arguments[1], arguments[1], true, true));",
            f"select[name='{name}']",
            value,
        )

    def run_action(self, action: str, rows: list[str]) -> None:
        """Tick the rows (by primary key) of a changelist and run an action on them."""
        for pk in rows:
            box = self.find(f"input.action-select[value='{pk}']")
            if not box.is_selected():
                box.click()
        self.choose("action", value=action)
        self.click("button[name='index']")

    def post_action(self, changelist: str, action: str, pks: list[str]) -> requests.Response:
        """The POST a changelist's action form sends, for a response a browser would
        download (a file) or that a test reads as it is (status, headers)."""
        session = self.session()
        url = self.base_url + changelist
        return session.post(
            url,
            data={
                "action": action,
                "_selected_action": pks,
                "index": "0",
                "csrfmiddlewaretoken": session.cookies.get("csrftoken"),
            },
            headers={"Referer": url},
            allow_redirects=False,
            timeout=60,
        )

    def save(self, button: str = "_continue") -> None:
        self.click(f"input[name='{button}'], button[name='{button}']")

    # --- failures ---------------------------------------------------------------------

    def keep(self, stem: Path) -> None:
        """A screenshot and the HTML of the current page, for a failed test."""
        stem.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.driver.save_screenshot(f"{stem}.png")
            stem.parent.joinpath(f"{stem.name}.html").write_text(self.driver.page_source)
        except (OSError, NoSuchElementException):
            pass
