//! `exchange-sim`: the command line of the exchange simulator.

fn main() {
    println!("exchange-sim: the server is not built yet");
}
