//! Node keys and enode URLs against GoQuorum's 7nodes example (quorum-examples: raft/nodekey1,
//! its static-nodes.json entry, and node 1's `admin_nodeInfo` id and `raft` address).

use veil_p2p::{read_node_list, Enode, NodeKey};

const NODEKEY1: &str = "1be3b50b31734be48452c29d714941ba165ef0cbf3ccea8ca16c45e3d8d45fb0";
const ENODE1: &str = "enode://ac6b1096ca56b9f6d004b779ae3728bf83f8e22453404cc3cef16a3d9b96608bc67c4b30db88e0a5a6c6390213f7acbe1153ff6d23ce57380104288ae19373ef@127.0.0.1:21000?discport=0&raftport=50401";

#[test]
fn seven_nodes_node_one_key_gives_its_enode_id_and_address() {
    let key = NodeKey::from_hex(NODEKEY1).unwrap();
    let enode: Enode = ENODE1.parse().unwrap();
    assert_eq!(key.public(), enode.public);
    assert_eq!(
        (enode.host.as_str(), enode.port, enode.raft_port),
        ("127.0.0.1", 21000, Some(50401))
    );
    assert_eq!(enode.to_string(), ENODE1, "round trip");
    // admin_nodeInfo.id of 7nodes' node 1; its account address is the id's last 20 bytes.
    assert_eq!(enode.id(), "7577115fd9184a27da527128d8dba507e85f116b1f7e231ca8525fc9008a6966");
    assert_eq!(enode.peer_id().unwrap(), key.peer_id());
    assert_eq!(enode.multiaddr().to_string(), "/ip4/127.0.0.1/tcp/21000");
}

#[test]
fn bad_enodes_and_keys_say_what_is_wrong() {
    for (text, why) in [
        ("enode://abcd@1.2.3.4:1", "not 64 bytes"),
        ("enode://zz@1.2.3.4:1", "not hex"),
        ("http://x", "does not start with enode://"),
        (&ENODE1.replace(":21000", ""), "port"),
    ] {
        let error = text.parse::<Enode>().unwrap_err();
        assert!(error.contains(why), "{text}: {error}");
    }
    assert!(NodeKey::from_hex("00").is_err());
}

#[test]
fn a_node_key_is_created_once_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nodekey");
    let first = NodeKey::load_or_create(&path).unwrap();
    let again = NodeKey::load_or_create(&path).unwrap();
    assert_eq!(first.public(), again.public());
    assert_eq!(std::fs::read_to_string(&path).unwrap().len(), 64);
    std::fs::write(&path, "not hex").unwrap();
    let error = NodeKey::load_or_create(&path).unwrap_err().to_string();
    assert!(error.contains("nodekey") && error.contains("64 hex"), "{error}");
}

#[test]
fn static_nodes_files_list_enodes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("static-nodes.json");
    assert!(read_node_list(&path).unwrap().is_empty());
    std::fs::write(&path, format!("[\"{ENODE1}\"]")).unwrap();
    assert_eq!(read_node_list(&path).unwrap()[0].port, 21000);
    std::fs::write(&path, "[\"enode://bad\"]").unwrap();
    assert!(read_node_list(&path).unwrap_err().contains("static-nodes.json"));
}
