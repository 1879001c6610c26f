#[tokio::main]
async fn main() {
    let sim = kallyai_sim::start("127.0.0.1:0".parse().unwrap(), Default::default()).await.unwrap();
    println!("listening on {}", sim.url());
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown().await;
}
