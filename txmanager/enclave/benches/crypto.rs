//! Encrypt and decrypt of 1 KiB and 64 KiB payloads for 1 and 6 recipients, with and without
//! the shared-secret cache.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use veil_enclave::{Enclave, KeyPair, LocalEnclave, TmPublicKey};

fn crypto(c: &mut Criterion) {
    let mut group = c.benchmark_group("enclave");
    for size in [1024usize, 64 * 1024] {
        for recipients in [1usize, 6] {
            for cache in [0usize, 4096] {
                let sender = KeyPair::generate();
                let sender_key = sender.public();
                let others: Vec<KeyPair> = (0..recipients).map(|_| KeyPair::generate()).collect();
                let to: Vec<TmPublicKey> = others.iter().map(KeyPair::public).collect();
                let enclave = LocalEnclave::with_cache_capacity(vec![sender], cache);
                let reader = LocalEnclave::with_cache_capacity(vec![others[0].clone()], cache);
                let plaintext = vec![0x42u8; size];
                let label = format!(
                    "{}KiB/{recipients}rcpt/{}",
                    size / 1024,
                    if cache > 0 { "cached" } else { "uncached" }
                );
                group.throughput(Throughput::Bytes(size as u64));
                group.bench_function(BenchmarkId::new("encrypt", &label), |b| {
                    b.iter(|| enclave.encrypt(&sender_key, &plaintext, &to).unwrap())
                });
                let payload = enclave.encrypt(&sender_key, &plaintext, &to).unwrap();
                group.bench_function(BenchmarkId::new("decrypt", &label), |b| {
                    b.iter(|| reader.decrypt(&payload, &to[0]).unwrap())
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, crypto);
criterion_main!(benches);
