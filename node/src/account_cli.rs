//! `veil account new | list | import`: geth's account commands over the keystore directory.

use eyre::WrapErr;
use std::path::Path;
use veil_node::accounts::Accounts;
use zeroize::Zeroizing;

/// The first line of `--password FILE`, or a password asked on the terminal.
fn password(file: Option<&Path>, confirm: bool) -> eyre::Result<Zeroizing<String>> {
    if let Some(file) = file {
        let text = Zeroizing::new(
            std::fs::read_to_string(file)
                .wrap_err_with(|| format!("reading {}", file.display()))?,
        );
        let first = text.lines().next().unwrap_or_default().trim_end_matches('\r');
        return Ok(Zeroizing::new(first.to_string()));
    }
    println!("Your new account is locked with a password. Please give a password. Do not forget this password.");
    let first = Zeroizing::new(rpassword::prompt_password("Password: ")?);
    if confirm {
        let again = Zeroizing::new(rpassword::prompt_password("Repeat password: ")?);
        if *first != *again {
            eyre::bail!("passwords do not match");
        }
    }
    Ok(first)
}

fn report(accounts: &Accounts, address: alloy_primitives::Address) -> eyre::Result<()> {
    let path = accounts
        .list()?
        .into_iter()
        .find(|(a, _)| *a == address)
        .map(|(_, path)| path.display().to_string())
        .unwrap_or_default();
    println!();
    println!("Your new key was generated");
    println!();
    println!("Public address of the key:   {}", address.to_checksum(None));
    println!("Path of the secret key file: {path}");
    println!();
    println!(
        "- You can share your public address with anyone. Others need it to interact with you."
    );
    println!(
        "- You must NEVER share the secret key with anyone! The key controls access to your funds!"
    );
    println!("- You must BACKUP your key file! Without the key, it's impossible to access account funds!");
    println!("- You must REMEMBER your password! Without the password, it's impossible to decrypt the key!");
    Ok(())
}

/// `veil account new`.
pub(crate) fn new(keystore: &Path, password_file: Option<&Path>) -> eyre::Result<()> {
    let accounts = Accounts::open(keystore)?;
    let password = password(password_file, true)?;
    let address = accounts.create(&password)?;
    report(&accounts, address)
}

/// `veil account list`, in geth's format.
pub(crate) fn list(keystore: &Path) -> eyre::Result<()> {
    let accounts = Accounts::open(keystore)?;
    for (i, (address, path)) in accounts.list()?.into_iter().enumerate() {
        println!(
            "Account #{i}: {{{}}} keystore://{}",
            alloy_primitives::hex::encode(address),
            path.display()
        );
    }
    Ok(())
}

/// `veil account import KEYFILE`.
pub(crate) fn import(
    keystore: &Path,
    keyfile: &Path,
    password_file: Option<&Path>,
) -> eyre::Result<()> {
    let text = Zeroizing::new(
        std::fs::read_to_string(keyfile)
            .wrap_err_with(|| format!("reading {}", keyfile.display()))?,
    );
    let hex = text.trim().trim_start_matches("0x");
    let key: alloy_primitives::B256 = hex.parse().map_err(|_| {
        eyre::eyre!("{}: expected a 32-byte private key in hex (64 hex digits)", keyfile.display())
    })?;
    let accounts = Accounts::open(keystore)?;
    let password = password(password_file, true)?;
    let address = accounts.import(&key, &password)?;
    println!("Address: {{{}}}", alloy_primitives::hex::encode(address));
    Ok(())
}
