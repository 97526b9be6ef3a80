//! `From` a lower layer's enum that a report enum mirrors variant for
//! variant. The match is exhaustive over the lower layer's variants, so a
//! variant added there does not compile here until the report (and
//! `schema/report.schema.json`) says how it is shown.

/// `mirror!(module::Source => Target { A, B, … })`: `From<module::Source>
/// for Target`, each variant to the one of the same name.
macro_rules! mirror {
    ($m:ident :: $from:ident => $to:ident { $($v:ident),+ $(,)? }) => {
        impl From<$m::$from> for $to {
            fn from(x: $m::$from) -> Self {
                match x {
                    $($m::$from::$v => $to::$v,)+
                }
            }
        }
    };
}

pub(super) use mirror;
