//! Errors of student construction.

/// A student that cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StudentError {
    /// The architecture is invalid.
    #[error("invalid student config: {0}")]
    Config(String),
    /// Initialisation from a teacher found different shapes.
    #[error("cannot initialise the student from the teacher: {0}")]
    TeacherMismatch(String),
}
