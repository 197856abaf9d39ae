//! Links the N-API addon the way Node expects (symbols resolved at load time).
fn main() {
    napi_build::setup();
}
