"""The content pipeline's pure core: pages, sections on headings, the result cache, excerpts, and
the tool schemas advertised so clients accept the gateway's indexes.

No gateway, SDK, SQL or HTTP imports (a test enforces it): the gateway's `ContentLayer` uses these to
serve long tool results and prompts in parts.
"""

from ._cache import RESULT_ID, ResultCache, ResultTooLarge, new_result_id
from ._disk import CACHE_DIR_ENV, DiskCache, default_cache_dir
from ._entry import CachedResult, CacheStats, EntryInfo, EntryKind, Part, Unit, parts_size
from ._excerpt import head_and_tail
from ._pager import MAX_PAGES, page_size, split_pages
from ._schemas import (
    FETCH_PROPERTIES,
    INDEX_SCHEMA,
    PAGE_KEY,
    PART_SCHEMA,
    RESERVED,
    RESULT_KEY,
    SECTION_KEY,
    advertised_input_schema,
    advertised_output_schema,
)
from ._sections import PREAMBLE_TITLE, Section, split_sections

__all__ = [
    "CACHE_DIR_ENV",
    "FETCH_PROPERTIES",
    "INDEX_SCHEMA",
    "MAX_PAGES",
    "PAGE_KEY",
    "PART_SCHEMA",
    "PREAMBLE_TITLE",
    "RESERVED",
    "RESULT_ID",
    "RESULT_KEY",
    "SECTION_KEY",
    "CacheStats",
    "CachedResult",
    "DiskCache",
    "EntryInfo",
    "EntryKind",
    "Part",
    "ResultCache",
    "ResultTooLarge",
    "Section",
    "Unit",
    "advertised_input_schema",
    "advertised_output_schema",
    "default_cache_dir",
    "head_and_tail",
    "new_result_id",
    "page_size",
    "parts_size",
    "split_pages",
    "split_sections",
]
