"""The papers' pretraining recipes as JSON files a user can copy and edit.

Example:

>>> from keras_bertfam.recipes import load_recipe, list_recipes
>>> list_recipes()
['albert', 'bert', 'budget', 'electra', 'modernbert', 'roberta']
>>> load_recipe("albert")["train"]["optimizer"]
'lamb'
"""

import json
from pathlib import Path

from keras_bertfam.errors import InputError

RECIPES = Path(__file__).resolve().parent


def list_recipes() -> list[str]:
    return sorted(p.stem for p in RECIPES.glob("*.json"))


def load_recipe(name_or_path: str) -> dict:
    """A recipe by name (`list_recipes()`) or from a JSON file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = RECIPES / f"{name_or_path}.json"
        if not path.is_file():
            raise InputError(f"unknown recipe {name_or_path!r}; available: {list_recipes()}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"recipe file {str(path)!r} does not exist") from None
    except json.JSONDecodeError as err:
        raise InputError(f"recipe file {str(path)!r} is not valid JSON: {err}") from None
