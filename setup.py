"""The C extension of the native layer; everything else about the project is in pyproject.toml.

Built by every install (`pip install -e .` too). A compile error fails the install: there is no
pure-Python fallback for the queue, the JSON check or the batch decoder.
"""

from setuptools import Extension, setup

# -Werror: a warning in our C is a bug to fix, not a line to scroll past.
C_FLAGS = ["-O2", "-std=c11", "-Wall", "-Wextra", "-Werror"]

setup(
    ext_modules=[
        Extension(
            "eventstream_native._queue",
            sources=["native_layer/src/queue.c", "native_layer/src/lanes.c"],
            depends=["native_layer/src/lanes.h"],
            include_dirs=["native_layer/src"],
            extra_compile_args=C_FLAGS,
            extra_link_args=["-pthread"],
        ),
        Extension(
            "eventstream_native._frames",
            sources=["native_layer/src/batch_frames.c"],
            extra_compile_args=C_FLAGS,
        ),
        Extension(
            "eventstream_native._json",
            sources=["native_layer/src/json_check.c"],
            extra_compile_args=C_FLAGS,
        ),
    ]
)
