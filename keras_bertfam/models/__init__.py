"""Config, presets, model builders (`models.builders`) and cost tables (`models.info`)."""
