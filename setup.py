"""Build hook: compile the gettext catalogs while building, so the wheel ships them and no
binary is committed. Everything else about the package is in pyproject.toml.

`src/frota/locale/<ll_CC>/LC_MESSAGES/frota.po` → `frota.mo` next to it in the build, or in the
source tree for an editable install (`pip install -e .`, `make setup`, `make test`), where
setuptools asks build steps to write in place. Entries still marked fuzzy are left out, as
`pybabel compile` does.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SRC = Path(__file__).parent / "src"


class build_py_and_catalogs(build_py):
    def run(self) -> None:
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        target = SRC if self.editable_mode else Path(self.build_lib)
        for po in sorted(SRC.glob("frota/locale/*/LC_MESSAGES/*.po")):
            mo = target / po.relative_to(SRC).with_suffix(".mo")
            mo.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as source:
                catalog = read_po(source)
            with mo.open("wb") as compiled:
                write_mo(compiled, catalog)


setup(cmdclass={"build_py": build_py_and_catalogs})
