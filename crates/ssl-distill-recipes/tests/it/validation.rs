//! Recipes that cannot work say so before training, naming the file and the field.

use std::path::Path;

use ssl_distill_recipes::{Recipe, RecipeError};

use crate::common::{recipes_dir, run_config, small_recipe, write_audio, write_teacher};

#[test]
fn every_shipped_recipe_parses() {
    let _serial = crate::common::serial();
    let mut n = 0;
    for entry in std::fs::read_dir(recipes_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            // Distillation recipes, or pretraining recipes (`ssl-distill pretrain`).
            if let Err(e) = Recipe::from_file(&path) {
                ssl_distill_recipes::PretrainRecipe::from_file(&path)
                    .unwrap_or_else(|p| panic!("{}: {e} (as pretraining: {p})", path.display()));
            }
            n += 1;
        }
    }
    assert!(n >= 6, "{n} recipes");
}

fn parse_err(text: &str) -> String {
    Recipe::from_toml_str(text, Path::new("bad.toml"))
        .unwrap_err()
        .to_string()
}

const MINIMAL: &str = "name = \"x\"\n[student]\nlayers = 2\n[student.head]\nkind = \"prediction\"\n\
                       [targets]\nstrategy = \"fixed\"\nlayers = [1]\n";

#[test]
fn bad_fields_are_named() {
    let _serial = crate::common::serial();
    Recipe::from_toml_str(MINIMAL, Path::new("ok.toml")).unwrap();
    let e = parse_err(&format!("{MINIMAL}typo = 1\n"));
    assert!(e.contains("bad.toml") && e.contains("typo"), "{e}");
    let e = parse_err(&MINIMAL.replace("layers = 2", "layers = 2\nwidht_ratio = 0.5"));
    assert!(e.contains("widht_ratio"), "{e}");
    let e = parse_err(&MINIMAL.replace("layers = [1]", "layers = [0]"));
    assert!(e.contains("targets.layers") && e.contains("layer 0"), "{e}");
    let e = parse_err(&MINIMAL.replace("layers = 2", "layers = 0"));
    assert!(e.contains("student.layers"), "{e}");
    let e = parse_err(&format!("{MINIMAL}[train]\nlr = -1.0\n"));
    assert!(e.contains("lr"), "{e}");
    let e = parse_err(&format!(
        "{MINIMAL}[[loss]]\nkind = \"l1\"\nweight = -2.0\n"
    ));
    assert!(e.contains("weight"), "{e}");
    let e = parse_err(&MINIMAL.replace("kind = \"prediction\"", "kind = \"mystery\""));
    assert!(e.contains("mystery"), "{e}");
}

fn run_err(recipe: &Recipe, out: &Path) -> RecipeError {
    ssl_distill_recipes::run(recipe, &run_config("distilhubert", out)).unwrap_err()
}

#[test]
fn a_student_that_does_not_fit_the_teacher_fails_before_training() {
    let _serial = crate::common::serial();
    let tmp = tempfile::tempdir().unwrap();
    let teacher = tmp.path().join("teacher");
    write_teacher(&teacher, false);
    let data = write_audio(&tmp.path().join("audio"), 2, 1.0);
    let out = tmp.path().join("run");

    let mut deep = small_recipe("distilhubert", &teacher, &data, 2);
    deep.targets = ssl_distill_recipes::TargetsSpec::Fixed {
        layers: vec![4, 13],
        relative_to: None,
    };
    let e = run_err(&deep, &out).to_string();
    assert!(e.contains("targets.layers") && e.contains("13"), "{e}");

    let mut heads = small_recipe("distilhubert", &teacher, &data, 2);
    heads.student.num_attention_heads = Some(5);
    let e = run_err(&heads, &out).to_string();
    assert!(
        e.contains("distilhubert.toml") && e.contains("student"),
        "{e}"
    );

    let mut copy = small_recipe("deep-narrow-12l-half", &teacher, &data, 2);
    copy.student.init_from_teacher = 2;
    let e = run_err(&copy, &out).to_string();
    assert!(e.contains("teacher"), "{e}");

    let mut no_teacher = small_recipe("distilhubert", &teacher, &data, 2);
    no_teacher.teacher.path = None;
    let e = run_err(&no_teacher, &out).to_string();
    assert!(e.contains("--teacher"), "{e}");

    let mut head = small_recipe("wang-disc-fbank", &teacher, &data, 2);
    head.disc.codewords = ssl_distill_recipes::CodewordSource::TeacherHead;
    let e = run_err(&head, &out).to_string();
    assert!(
        e.contains("disc.codewords") && e.contains("label_embs_concat"),
        "{e}"
    );
    assert!(
        !out.join("checkpoints").exists(),
        "nothing was trained by failing runs"
    );
}
