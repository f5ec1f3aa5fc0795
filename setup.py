"""Build the compiled parts of alliancesim: the session equations and the weekly loop (Cython)."""

from Cython.Build import cythonize
from setuptools import setup

setup(
    ext_modules=cythonize(
        ["alliancesim/session.py", "alliancesim/_kernel.pyx"],
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    ),
)
