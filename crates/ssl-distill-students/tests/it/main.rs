//! Integration tests of ssl-distill-students.

mod students;
