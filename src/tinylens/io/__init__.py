"""Files: the safetensors weights format, atomic writes and run directories."""

from tinylens.io.atomic import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text
from tinylens.io.rundir import RunDir, save_figure
from tinylens.io.sections import Figure, Section, Table, format_number, read_sections
from tinylens.io.weights import checksum_status, load, load_affine, read_info, save

__all__ = [
    "Figure",
    "RunDir",
    "Section",
    "Table",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "checksum_status",
    "format_number",
    "load",
    "load_affine",
    "read_info",
    "read_sections",
    "save",
    "save_figure",
]
