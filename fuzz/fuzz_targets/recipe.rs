//! Recipe TOML: any text gives a validated `Recipe` (and `PretrainRecipe`) or a
//! `RecipeError`; an accepted distillation recipe splits its steps into stages without
//! panicking.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ssl_distill_recipes::{PretrainRecipe, Recipe};

fuzz_target!(|data: &[u8]| {
    // `from_file` reads the file as UTF-8 first (an I/O error otherwise).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.toml");
    if let Ok(recipe) = Recipe::from_toml_str(text, path) {
        if let Ok(stages) = recipe.resolved_stages(path) {
            let steps: u64 = stages.iter().map(|s| s.steps).sum();
            assert_eq!(
                steps, recipe.train.max_steps,
                "stages share max_steps exactly"
            );
        }
    }
    let _ = PretrainRecipe::from_toml_str(text, path);
});
