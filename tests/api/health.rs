use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_answers_while_the_process_runs() {
    let app = spawn_app().await;
    let a = app.get_unauthenticated("/healthz").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["status"], "ok");
}

#[tokio::test]
async fn readyz_turns_ready_once_a_server_token_is_held() {
    let app = spawn_app().await;
    let mut last = None;
    for _ in 0..100 {
        let a = app.get_unauthenticated("/readyz").await;
        if a.status == 200 {
            assert_eq!(a.body["database"], true);
            assert_eq!(a.body["basiqToken"]["valid"], true);
            return;
        }
        last = Some(a.body);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("never ready: {last:?}");
}

#[tokio::test]
async fn an_unknown_route_is_a_problem_json_404() {
    let app = spawn_app().await;
    let a = app.get("/v1/nope", "u1").await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body["code"], "route_not_found");
    a.problem_field();
    assert_eq!(
        a.headers["x-request-id"].to_str().unwrap(),
        a.body["requestId"].as_str().unwrap()
    );
}
