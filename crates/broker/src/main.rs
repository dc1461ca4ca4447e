//! `rtc-golive-broker serve | token | revoke`.

use clap::Parser;
use rtc_golive_broker::cli::{self, Cli, Command, Revocation, TokenAction};
use rtc_golive_broker::config::BrokerConfig;
use rtc_golive_broker::serve::serve;
use rtc_golive_broker::token::{AliyunPin, ZegoPin};
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .init();
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rtc-golive-broker: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load(path: &Path) -> Result<BrokerConfig, String> {
    BrokerConfig::load(path).map_err(|e| e.to_string())
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Serve { config } => {
            let config = load(&config)?;
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the runtime: {e}"))?
                .block_on(serve(config))
                .map_err(|e| e.to_string())
        }
        Command::Token {
            action: Some(TokenAction::List { config, sub }),
            ..
        } => {
            let config = load(&config)?;
            let listed = cli::list(&config, sub.as_deref())?;
            for token in &listed {
                println!("{token}");
            }
            eprintln!("{} token(s)", listed.len());
            Ok(())
        }
        Command::Token {
            action: None,
            config,
            sub,
            zego_stream_id,
            zego_cdn_url,
            zego_play_stream,
            zego_cdn_required,
            aliyun_channel,
            aliyun_user,
            aliyun_display_name,
            ttl,
        } => {
            // clap requires both when no subcommand is given.
            let (Some(config), Some(sub)) = (config, sub) else {
                return Err("token needs --config and --sub".into());
            };
            let config = load(&config)?;
            let zego = zego_stream_id.map(|stream_id| ZegoPin {
                stream_id,
                cdn_urls: zego_cdn_url,
                play: zego_play_stream,
                cdn_required: zego_cdn_required,
            });
            let aliyun = match (aliyun_channel, aliyun_user, aliyun_display_name) {
                (Some(channel), Some(user_id), Some(display_name)) => Some(AliyunPin {
                    channel,
                    user_id,
                    display_name,
                }),
                _ => None,
            };
            let (token, claims) = cli::token(&config, &sub, zego, aliyun, ttl)?;
            if let Err(e) = cli::record_minted(&config, &claims) {
                eprintln!("warning: `token list` will not show this token: {e}");
            }
            eprintln!(
                "token for sub={} jti={} exp={} expires {}",
                claims.sub,
                claims.jti,
                claims.exp,
                humantime::format_rfc3339_seconds(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs(claims.exp)
                )
            );
            println!("{token}");
            Ok(())
        }
        Command::Revoke {
            config,
            jti,
            exp,
            token,
            sub,
        } => {
            let config = load(&config)?;
            let what = match (jti, token, sub) {
                (Some(jti), _, _) => Revocation::Token { jti, exp },
                (None, Some(token), _) => match cli::revocation_of(&config, &token)? {
                    Some((jti, exp)) => Revocation::Token {
                        jti,
                        exp: Some(exp),
                    },
                    None => {
                        eprintln!("the token has expired already: nothing to revoke");
                        return Ok(());
                    }
                },
                (None, None, Some(sub)) => Revocation::Streamer(sub),
                (None, None, None) => return Err("revoke needs --jti, --token or --sub".into()),
            };
            eprintln!("{}", cli::revoke(&config, &what)?);
            Ok(())
        }
    }
}
