//! Every conformance check for every connector: `cargo test -p dealbridge-conformance` runs
//! 5 checks × 4 connectors, named `<connector>::<check>`. A new connector adds its adapter to
//! `dealbridge_conformance::subjects` and one `conformance!` line here.

/// One module per connector with one test per check, all running the same generic function.
macro_rules! conformance {
    ($module:ident, $subject:ty) => {
        mod $module {
            use dealbridge_conformance::checks;

            #[tokio::test]
            async fn paging() {
                checks::paging::<$subject>().await;
            }

            #[tokio::test]
            async fn auth_failure() {
                checks::auth_failure::<$subject>().await;
            }

            #[tokio::test]
            async fn throttling_and_retry_after() {
                checks::throttling_and_retry_after::<$subject>().await;
            }

            #[tokio::test]
            async fn error_bodies() {
                checks::error_bodies::<$subject>().await;
            }

            #[tokio::test]
            async fn find_or_create_idempotent() {
                checks::find_or_create_idempotent::<$subject>().await;
            }
        }
    };
}

conformance!(woocommerce, dealbridge_conformance::subjects::WooCommerce);
conformance!(shopify, dealbridge_conformance::subjects::Shopify);
conformance!(bitrix24, dealbridge_conformance::subjects::Bitrix24);
conformance!(amocrm, dealbridge_conformance::subjects::AmoCrm);
