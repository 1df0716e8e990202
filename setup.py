"""Build hook: every build compiles the translation catalogs (``locales/*/LC_MESSAGES/messages.mo``, which
are not in git) from their ``.po`` files, so a wheel or a plain ``pip install .`` speaks all four
languages; before, only ``make`` compiled them and such an install refused to start."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithCatalogs(build_py):
    def run(self) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in sorted(Path(__file__).resolve().parent.glob("locales/*/LC_MESSAGES/messages.po")):
            with po.open("rb") as source:
                catalog = read_po(source)
            with po.with_suffix(".mo").open("wb") as target:
                write_mo(target, catalog)
        super().run()


setup(cmdclass={"build_py": BuildWithCatalogs})
