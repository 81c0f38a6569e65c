//! Submissions in MongoDB (SecantusDB here): one instance takes a submission, a second one
//! sharing the database answers for it, and the `submissions` collection has its TTL index.

use serde_json::json;

use super::wait_for_submission;
use crate::common::secantus::{Executions, SecantusServer};
use crate::common::{wait_until, Service};

#[test]
fn a_second_instance_sharing_the_database_reads_the_submission() {
    let database = SecantusServer::started("judge0");
    let uri = database.uri("judge0_shared");
    // Python alone, to spare the machine two more sets of pools.
    let disabled: Vec<String> = ["JAVASCRIPT", "RUBY", "JAVA", "GO", "CPP"]
        .iter()
        .map(|language| format!("CODEEXEC_LANGUAGES__{language}__ENABLED"))
        .collect();
    let mut settings = vec![("DB", uri.as_str())];
    settings.extend(disabled.iter().map(|key| (key.as_str(), "false")));
    let first = Service::start_ready("judge0-first", &settings);
    let second = Service::start("judge0-second", &settings);

    let (status, created) = first.post(
        "/submissions",
        &json!({ "source_code": "print('shared')", "language_id": 71 }),
    );
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().unwrap();
    let seen_by_second = wait_for_submission(&second, "", token);
    assert_eq!(seen_by_second["status"]["id"], 3, "{seen_by_second}");
    assert_eq!(seen_by_second["stdout"], "shared\n");
    let (status, seen_by_first) = first.get(&format!("/judge0/submissions/{token}?fields=*"));
    assert_eq!(status, 200);
    assert_eq!(seen_by_first, seen_by_second);

    let submissions = Executions::open_collection(&uri, "submissions");
    let stored = submissions.find(mongodb::bson::doc! { "_id": token });
    assert_eq!(stored.len(), 1, "{stored:?}");
    wait_until("the submissions collection has its TTL index", || {
        submissions.indexes().iter().any(|index| {
            index.keys.contains_key("createdAt")
                && index
                    .options
                    .as_ref()
                    .is_some_and(|options| options.expire_after.is_some())
        })
    });

    // A submission running when its instance stops does not stay pending: it ends (as 13 when
    // the stop cut it short), and the other instance reads how.
    let (status, created) = first.post(
        "/submissions",
        &json!({ "source_code": "import time\ntime.sleep(30)", "language_id": 71 }),
    );
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().unwrap();
    wait_until("the other instance sees the submission running", || {
        let (_, body) = second.get(&format!("/submissions/{token}"));
        body["status"]["id"] == 2
    });
    first.terminate();
    let ended = wait_for_submission(&second, "", token);
    let id = ended["status"]["id"].as_i64().unwrap();
    assert!(id == 13 || id == 5, "{ended}");
    assert!(ended["finished_at"].is_string(), "{ended}");
}
